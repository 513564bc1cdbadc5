# Runs a sweep on threads (--jobs 2) and under mpirun with RANKS ranks, and checks that
# results.csv and results.jsonl are byte-identical.
file(REMOVE_RECURSE ${WORKDIR})
execute_process(COMMAND ${CLI} sweep ${SPEC} --out ${WORKDIR}/threads --jobs 2 --quiet
  RESULT_VARIABLE status ERROR_VARIABLE stderr)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "threaded sweep failed (${status}):\n${stderr}")
endif()
execute_process(COMMAND ${MPIEXEC} --allow-run-as-root --oversubscribe -n ${RANKS}
                        ${CLI} sweep ${SPEC} --out ${WORKDIR}/mpi --quiet
  RESULT_VARIABLE status OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "mpirun -n ${RANKS} sweep failed (${status}):\n${stdout}\n${stderr}")
endif()
if(NOT stdout MATCHES "ran on ${RANKS} rank")
  message(FATAL_ERROR "expected the sweep to run on ${RANKS} ranks, it said:\n${stdout}")
endif()
foreach(file results.csv results.jsonl)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORKDIR}/threads/${file}
                          ${WORKDIR}/mpi/${file} RESULT_VARIABLE differ)
  if(differ)
    message(FATAL_ERROR "${file} differs between --jobs 2 and mpirun -n ${RANKS}")
  endif()
endforeach()
