# CMake generated Testfile for 
# Source directory: /work/main
# Build directory: /work/main/build
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(unit_test_dict "/work/main/build/test_dict")
set_tests_properties(unit_test_dict PROPERTIES  TIMEOUT "300" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;74;add_test;/work/main/CMakeLists.txt;0;")
add_test(unit_test_reqparse "/work/main/build/test_reqparse")
set_tests_properties(unit_test_reqparse PROPERTIES  TIMEOUT "300" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;74;add_test;/work/main/CMakeLists.txt;0;")
add_test(unit_test_splitargs "/work/main/build/test_splitargs")
set_tests_properties(unit_test_splitargs PROPERTIES  TIMEOUT "300" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;74;add_test;/work/main/CMakeLists.txt;0;")
add_test(unit_test_util "/work/main/build/test_util")
set_tests_properties(unit_test_util PROPERTIES  TIMEOUT "300" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;74;add_test;/work/main/CMakeLists.txt;0;")
add_test(integration_test_differential_core "/usr/bin/python3" "-m" "pytest" "-q" "-p" "no:cacheprovider" "/work/main/tests/integration/test_differential_core.py")
set_tests_properties(integration_test_differential_core PROPERTIES  ENVIRONMENT "RINGMASTER_BIN=/work/main/build/ringmaster;RINGMASTER_SANITIZE=" TIMEOUT "600" WORKING_DIRECTORY "/work/main/tests/integration" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;84;add_test;/work/main/CMakeLists.txt;0;")
add_test(integration_test_protocol "/usr/bin/python3" "-m" "pytest" "-q" "-p" "no:cacheprovider" "/work/main/tests/integration/test_protocol.py")
set_tests_properties(integration_test_protocol PROPERTIES  ENVIRONMENT "RINGMASTER_BIN=/work/main/build/ringmaster;RINGMASTER_SANITIZE=" TIMEOUT "600" WORKING_DIRECTORY "/work/main/tests/integration" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;84;add_test;/work/main/CMakeLists.txt;0;")
add_test(integration_test_server "/usr/bin/python3" "-m" "pytest" "-q" "-p" "no:cacheprovider" "/work/main/tests/integration/test_server.py")
set_tests_properties(integration_test_server PROPERTIES  ENVIRONMENT "RINGMASTER_BIN=/work/main/build/ringmaster;RINGMASTER_SANITIZE=" TIMEOUT "600" WORKING_DIRECTORY "/work/main/tests/integration" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;84;add_test;/work/main/CMakeLists.txt;0;")
add_test(integration_test_tools "/usr/bin/python3" "-m" "pytest" "-q" "-p" "no:cacheprovider" "/work/main/tests/integration/test_tools.py")
set_tests_properties(integration_test_tools PROPERTIES  ENVIRONMENT "RINGMASTER_BIN=/work/main/build/ringmaster;RINGMASTER_SANITIZE=" TIMEOUT "600" WORKING_DIRECTORY "/work/main/tests/integration" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;84;add_test;/work/main/CMakeLists.txt;0;")
