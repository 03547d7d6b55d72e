file(REMOVE_RECURSE
  "CMakeFiles/test_splitargs.dir/tests/unit/test_splitargs.c.o"
  "CMakeFiles/test_splitargs.dir/tests/unit/test_splitargs.c.o.d"
  "test_splitargs"
  "test_splitargs.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_splitargs.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
