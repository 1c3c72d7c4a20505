# The embed stage: rules are added by its issue.
