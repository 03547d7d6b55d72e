file(REMOVE_RECURSE
  "librmcore.a"
)
