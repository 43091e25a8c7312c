# envguard shell integration for bash.
#
# Before every prompt, `envguard export bash` prints the statements that load the nearest .env
# (or unload the previous one); this hook evaluates them. It prints nothing when nothing
# changed, which is almost always, so the cost per prompt is one short process start.

__envguard_exe=@ENVGUARD_EXE@
# Tells `envguard doctor`, started from this shell, that the hook is active here: the pid tells
# this shell's mark from one inherited from an outer shell.
export __ENVGUARD_HOOK="bash:$$"
# The key envguard fingerprints the variables a .env refers to with: shell-local, handed to
# envguard alone on each call, so no other program sees it. envguard sets it when needed.
__envguard_key=${__envguard_key-}

__envguard_hook() {
    # Keep the status of the user's last command for the prompt and whatever runs after us, and
    # the user's shell options: `set -x` or `set -v` would print every loaded value, so both are
    # off while the hook runs and back as they were afterwards.
    \builtin local -r __envguard_status="$?" __envguard_flags="$-"
    \builtin set +xv
    \builtin local __envguard_out __envguard_trap
    # envguard reports its own failures on stderr; its exit status has nothing to add (and
    # must not end a shell running with `set -e`). It ignores Ctrl-C while it decides, so its
    # output is whole or absent.
    __envguard_out="$(__ENVGUARD_KEY="${__envguard_key}" \command "${__envguard_exe}" export bash)" ||
        \builtin :
    if [[ -n ${__envguard_out} ]]; then
        # Ctrl-C during the eval must not leave half an environment (as direnv does). The
        # user's own SIGINT trap is saved and put back; saving it costs a subshell, so only
        # when there is something to evaluate.
        __envguard_trap="$(\builtin trap -p SIGINT)"
        \builtin trap -- '' SIGINT
        \builtin eval -- "${__envguard_out}"
        \builtin eval -- "${__envguard_trap:-\builtin trap - SIGINT}"
    fi
    [[ ${__envguard_flags} != *v* ]] || \builtin set -v
    [[ ${__envguard_flags} != *x* ]] || \builtin set -x
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
