file(REMOVE_RECURSE
  "CMakeFiles/ringmaster.dir/core/main.c.o"
  "CMakeFiles/ringmaster.dir/core/main.c.o.d"
  "ringmaster"
  "ringmaster.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/ringmaster.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
