# The simulate stage: rules are added by its issue.
