CMakeFiles/rmcore.dir/core/types.c.o: /work/main/core/types.c \
 /usr/include/stdc-predef.h /work/main/core/types.h
