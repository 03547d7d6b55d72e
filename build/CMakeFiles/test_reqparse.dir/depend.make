# Empty dependencies file for test_reqparse.
# This may be replaced when dependencies are built.
