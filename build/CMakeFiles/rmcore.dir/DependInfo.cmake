
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/core/client.c" "CMakeFiles/rmcore.dir/core/client.c.o" "gcc" "CMakeFiles/rmcore.dir/core/client.c.o.d"
  "/work/main/core/cmd_client.c" "CMakeFiles/rmcore.dir/core/cmd_client.c.o" "gcc" "CMakeFiles/rmcore.dir/core/cmd_client.c.o.d"
  "/work/main/core/cmd_keys.c" "CMakeFiles/rmcore.dir/core/cmd_keys.c.o" "gcc" "CMakeFiles/rmcore.dir/core/cmd_keys.c.o.d"
  "/work/main/core/cmd_server.c" "CMakeFiles/rmcore.dir/core/cmd_server.c.o" "gcc" "CMakeFiles/rmcore.dir/core/cmd_server.c.o.d"
  "/work/main/core/commands.c" "CMakeFiles/rmcore.dir/core/commands.c.o" "gcc" "CMakeFiles/rmcore.dir/core/commands.c.o.d"
  "/work/main/core/config.c" "CMakeFiles/rmcore.dir/core/config.c.o" "gcc" "CMakeFiles/rmcore.dir/core/config.c.o.d"
  "/work/main/core/db.c" "CMakeFiles/rmcore.dir/core/db.c.o" "gcc" "CMakeFiles/rmcore.dir/core/db.c.o.d"
  "/work/main/core/debug.c" "CMakeFiles/rmcore.dir/core/debug.c.o" "gcc" "CMakeFiles/rmcore.dir/core/debug.c.o.d"
  "/work/main/core/dict.c" "CMakeFiles/rmcore.dir/core/dict.c.o" "gcc" "CMakeFiles/rmcore.dir/core/dict.c.o.d"
  "/work/main/core/dstr.c" "CMakeFiles/rmcore.dir/core/dstr.c.o" "gcc" "CMakeFiles/rmcore.dir/core/dstr.c.o.d"
  "/work/main/core/info.c" "CMakeFiles/rmcore.dir/core/info.c.o" "gcc" "CMakeFiles/rmcore.dir/core/info.c.o.d"
  "/work/main/core/log.c" "CMakeFiles/rmcore.dir/core/log.c.o" "gcc" "CMakeFiles/rmcore.dir/core/log.c.o.d"
  "/work/main/core/mem.c" "CMakeFiles/rmcore.dir/core/mem.c.o" "gcc" "CMakeFiles/rmcore.dir/core/mem.c.o.d"
  "/work/main/core/multi.c" "CMakeFiles/rmcore.dir/core/multi.c.o" "gcc" "CMakeFiles/rmcore.dir/core/multi.c.o.d"
  "/work/main/core/object.c" "CMakeFiles/rmcore.dir/core/object.c.o" "gcc" "CMakeFiles/rmcore.dir/core/object.c.o.d"
  "/work/main/core/propagate.c" "CMakeFiles/rmcore.dir/core/propagate.c.o" "gcc" "CMakeFiles/rmcore.dir/core/propagate.c.o.d"
  "/work/main/core/reply.c" "CMakeFiles/rmcore.dir/core/reply.c.o" "gcc" "CMakeFiles/rmcore.dir/core/reply.c.o.d"
  "/work/main/core/reqparse.c" "CMakeFiles/rmcore.dir/core/reqparse.c.o" "gcc" "CMakeFiles/rmcore.dir/core/reqparse.c.o.d"
  "/work/main/core/server.c" "CMakeFiles/rmcore.dir/core/server.c.o" "gcc" "CMakeFiles/rmcore.dir/core/server.c.o.d"
  "/work/main/core/splitargs.c" "CMakeFiles/rmcore.dir/core/splitargs.c.o" "gcc" "CMakeFiles/rmcore.dir/core/splitargs.c.o.d"
  "/work/main/core/t_string.c" "CMakeFiles/rmcore.dir/core/t_string.c.o" "gcc" "CMakeFiles/rmcore.dir/core/t_string.c.o.d"
  "/work/main/core/types.c" "CMakeFiles/rmcore.dir/core/types.c.o" "gcc" "CMakeFiles/rmcore.dir/core/types.c.o.d"
  "/work/main/core/util.c" "CMakeFiles/rmcore.dir/core/util.c.o" "gcc" "CMakeFiles/rmcore.dir/core/util.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
