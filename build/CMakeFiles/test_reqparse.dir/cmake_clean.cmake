file(REMOVE_RECURSE
  "CMakeFiles/test_reqparse.dir/tests/unit/test_reqparse.c.o"
  "CMakeFiles/test_reqparse.dir/tests/unit/test_reqparse.c.o.d"
  "test_reqparse"
  "test_reqparse.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_reqparse.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
