# envguard shell integration for bash.
#
# Before every prompt, `envguard export bash` prints the statements that load the nearest .env
# (or unload the previous one); this hook evaluates them. It prints nothing when nothing
# changed, which is almost always, so the cost per prompt is one short process start.

__envguard_exe=@ENVGUARD_EXE@

__envguard_hook() {
    # Keep the status of the user's last command for the prompt and whatever runs after us.
    \builtin local -r __envguard_status="$?"
    # Ctrl-C during the eval must not leave half an environment (as direnv does).
    \builtin trap -- '' SIGINT
    # envguard reports its own failures on stderr; its exit status has nothing to add.
    # shellcheck disable=SC2312
    \builtin eval -- "$(\command "${__envguard_exe}" export bash)"
    \builtin trap - SIGINT
    \builtin return "${__envguard_status}"
}

# Run first in PROMPT_COMMAND, keeping what is there, whether a string or (bash 5.1+) an array;
# sourcing this file twice registers the hook once.
if [[ ${PROMPT_COMMAND[*]:-} != *__envguard_hook* ]]; then
    if [[ -n ${PROMPT_COMMAND+set} && ${PROMPT_COMMAND@a} == *a* ]]; then
        PROMPT_COMMAND=(__envguard_hook "${PROMPT_COMMAND[@]}")
    else
        # A string in this branch, not an array.
        # shellcheck disable=SC2128,SC2178
        PROMPT_COMMAND="__envguard_hook${PROMPT_COMMAND:+;${PROMPT_COMMAND}}"
    fi
fi

# To load .env files as you change directory, add this line to ~/.bashrc:
#   eval "$(envguard hook bash)"
