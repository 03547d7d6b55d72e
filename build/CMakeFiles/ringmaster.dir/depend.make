# Empty dependencies file for ringmaster.
# This may be replaced when dependencies are built.
