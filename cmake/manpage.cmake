# Writes OUT, tocsin(1), from `tocsin --help-man`: the flag table --help prints.
execute_process(COMMAND "${BIN}" --help-man OUTPUT_FILE "${OUT}.tmp" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "${BIN} --help-man failed: ${rc}")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
