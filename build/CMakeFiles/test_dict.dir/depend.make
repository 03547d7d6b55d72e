# Empty dependencies file for test_dict.
# This may be replaced when dependencies are built.
