# The preprocess stage: rules are added by its issue.
