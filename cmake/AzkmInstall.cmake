# Install helpers (docs/packaging.md). A few files belong in system directories that are not under the prefix
# (OpenSSL's modules directory, /etc, systemd's unit directory). They go there only when installing into the
# system prefix /usr; any other prefix (/usr/local, /opt/x, a staging directory) gets them under the prefix.
# The choice is made at install time, so `cmake --install build --prefix /opt/x` is honoured, and DESTDIR is
# prepended by file(INSTALL) as for every other file. Modules are stripped on `cmake --install --strip` and by
# CPack (CPACK_STRIP_FILES), like the targets install(TARGETS) strips.

# azkm_install_choose(<FILES|PROGRAMS> <file>... SYSTEM <absolute dir> PREFIXED <dir relative to the prefix>)
function(azkm_install_choose kind)
  cmake_parse_arguments(A "" "SYSTEM;PREFIXED" "FILES" ${ARGN})
  set(files "")
  foreach(f IN LISTS A_FILES)
    string(APPEND files " \"${f}\"")
  endforeach()
  install(CODE "
    if(CMAKE_INSTALL_PREFIX MATCHES \"^/usr/?$\")
      set(_azkm_dest \"${A_SYSTEM}\")
    else()
      set(_azkm_dest \"\${CMAKE_INSTALL_PREFIX}/${A_PREFIXED}\")
    endif()
    file(INSTALL DESTINATION \"\${_azkm_dest}\" TYPE ${kind} FILES ${files})
    if(CMAKE_INSTALL_DO_STRIP AND \"${kind}\" STREQUAL MODULE)
      foreach(_azkm_f ${files})
        get_filename_component(_azkm_n \"\${_azkm_f}\" NAME)
        execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-unneeded \"\$ENV{DESTDIR}\${_azkm_dest}/\${_azkm_n}\")
      endforeach()
    endif()
  ")
endfunction()
