# The train stage: rules are added by its issue.
