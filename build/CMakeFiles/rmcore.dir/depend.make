# Empty dependencies file for rmcore.
# This may be replaced when dependencies are built.
