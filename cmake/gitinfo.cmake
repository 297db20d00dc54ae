# Run at every build (target tn_gitinfo): the git revision and branch of SRC_DIR, written to
# OUT only when they changed, so an unchanged tree does not relink.
#   1. SRC_DIR/.tocsin-gitinfo (revision=..., branch=...), which scripts/package-deb.sh writes
#      into the copy of the tree it builds from;
#   2. git, when SRC_DIR is the top of a work tree;
#   3. "unknown".
set(revision unknown)
set(branch unknown)
if(EXISTS "${SRC_DIR}/.tocsin-gitinfo")
  file(STRINGS "${SRC_DIR}/.tocsin-gitinfo" lines)
  foreach(l IN LISTS lines)
    if(l MATCHES "^revision=(.+)$")
      set(revision "${CMAKE_MATCH_1}")
    elseif(l MATCHES "^branch=(.+)$")
      set(branch "${CMAKE_MATCH_1}")
    endif()
  endforeach()
else()
  find_program(GIT git)
  if(GIT)
    execute_process(COMMAND ${GIT} -C "${SRC_DIR}" rev-parse --show-toplevel
      OUTPUT_VARIABLE top RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(rc EQUAL 0)
      get_filename_component(top "${top}" REALPATH)
      get_filename_component(src "${SRC_DIR}" REALPATH)
    endif()
    if(rc EQUAL 0 AND top STREQUAL src)
      execute_process(COMMAND ${GIT} -C "${SRC_DIR}" rev-parse HEAD
        OUTPUT_VARIABLE r RESULT_VARIABLE rc1 OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      execute_process(COMMAND ${GIT} -C "${SRC_DIR}" rev-parse --abbrev-ref HEAD
        OUTPUT_VARIABLE b RESULT_VARIABLE rc2 OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(rc1 EQUAL 0 AND r)
        set(revision "${r}")
      endif()
      if(rc2 EQUAL 0 AND b)
        set(branch "${b}")
      endif()
    endif()
  endif()
endif()
# Branch names may hold characters a C string literal would not.
string(REGEX REPLACE "[^A-Za-z0-9._/+-]" "_" revision "${revision}")
string(REGEX REPLACE "[^A-Za-z0-9._/+-]" "_" branch "${branch}")
file(WRITE "${OUT}.tmp" "#define TN_GIT_REVISION \"${revision}\"\n#define TN_GIT_BRANCH \"${branch}\"\n")
configure_file("${OUT}.tmp" "${OUT}" COPYONLY)
file(REMOVE "${OUT}.tmp")
