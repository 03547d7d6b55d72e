# Empty dependencies file for test_splitargs.
# This may be replaced when dependencies are built.
