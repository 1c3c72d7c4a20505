# The download stage: rules are added by its issue.
