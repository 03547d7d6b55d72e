file(REMOVE_RECURSE
  "CMakeFiles/test_dict.dir/tests/unit/test_dict.c.o"
  "CMakeFiles/test_dict.dir/tests/unit/test_dict.c.o.d"
  "test_dict"
  "test_dict.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_dict.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
