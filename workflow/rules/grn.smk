# The grn stage: rules are added by its issue.
