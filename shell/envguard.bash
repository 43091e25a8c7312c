# envguard shell integration for bash.
#
# Before every prompt, `envguard export bash` prints the statements that load the nearest .env
# (or unload the previous one); this hook evaluates them. It prints nothing when nothing
# changed, which is almost always. Where bash's `stat` loadable is installed (Debian's
# bash-builtins), the hook first checks that itself, with builtins only, against the record
# envguard left at its last run (see src/hook/record.rs), and starts no process while every
# file it looked at has the same identity and the directory, the hook's state and key and the
# variables the file refers to are as they were. Without the loadable, envguard runs at every
# prompt (`envguard doctor` says how to get it).

__envguard_exe=@ENVGUARD_EXE@
# Tells `envguard doctor`, started from this shell, that the hook is active here: the pid tells
# this shell's mark from one inherited from an outer shell.
export __ENVGUARD_HOOK="bash:$$"
# The key envguard fingerprints the variables a .env refers to with: shell-local, handed to
# envguard alone on each call, so no other program sees it. envguard sets it when needed.
__envguard_key=${__envguard_key-}
# The record, shell-local like the key: a nested shell or `exec bash` has none, and starts
# envguard once at its first prompt. `__envguard_rec` is set last, when the record is whole.
__envguard_rec='' __envguard_rec_dir='' __envguard_rec_state='' __envguard_rec_state_set=''
__envguard_rec_state_inputs='' __envguard_rec_key='' __envguard_rec_key_set=''
__envguard_rec_absent=() __envguard_rec_dangling=() __envguard_rec_files=()
__envguard_rec_inputs=()

# Whether the hook has bash's `stat` builtin: the user's own, left as it is, or one the hook
# loaded and keeps disabled except inside its check (enabled, it would hide the user's stat
# command). Kept when this file is sourced again.
__envguard_stat=${__envguard_stat-}
__envguard_probe_stat() {
    \builtin local __envguard_dir __envguard_dirs
    \builtin declare -gA __envguard_st
    if \builtin stat -A __envguard_st -- / 2>/dev/null; then
        __envguard_stat=1
        \builtin return 0
    fi
    IFS=: \builtin read -r -a __envguard_dirs <<<"${BASH_LOADABLES_PATH-}"
    for __envguard_dir in "${__envguard_dirs[@]}" /usr/lib/bash /usr/local/lib/bash; do
        [[ -n ${__envguard_dir} && -f ${__envguard_dir}/stat ]] || \builtin continue
        \builtin enable -f "${__envguard_dir}/stat" stat 2>/dev/null || \builtin continue
        if \builtin stat -A __envguard_st -- / 2>/dev/null && [[ -n ${__envguard_st[ctime]-} ]]; then
            __envguard_stat=1
            \builtin enable -n stat
            \builtin return 0
        fi
        \builtin enable -d stat 2>/dev/null
    done
}
[[ -n ${__envguard_stat} ]] || __envguard_probe_stat

# Whether nothing the record covers changed: any doubt is a no, and envguard decides. Its
# caller sends stderr to /dev/null once: a file that vanishes under stat is a no, not a
# message, and so is a disabled stat.
__envguard_unchanged() {
    [[ -n ${__envguard_rec} && -n ${__envguard_stat} && ${PWD} == "${__envguard_rec_dir}" ]] &&
        [[ ${PWD} -ef . && ${__ENVGUARD_STATE+s} == "${__envguard_rec_state_set}" ]] &&
        [[ ${__ENVGUARD_STATE-} == "${__envguard_rec_state}" ]] &&
        [[ ${__envguard_key+s} == "${__envguard_rec_key_set}" && ${__envguard_key-} == "${__envguard_rec_key}" ]] ||
        \builtin return 1
    \builtin local __envguard_file __envguard_same=1 __envguard_enabled='' __envguard_seen=''
    for __envguard_file in "${__envguard_rec_absent[@]}"; do
        [[ -e ${__envguard_file} || -L ${__envguard_file} ]] && \builtin return 1
    done
    for __envguard_file in "${__envguard_rec_dangling[@]}"; do
        [[ -L ${__envguard_file} && ! -e ${__envguard_file} ]] || \builtin return 1
    done
    # Enabled now only if the user enabled it: then it stays so. Otherwise it is enabled for
    # the identities alone.
    if ! \builtin stat -A __envguard_st -- /; then
        \builtin enable stat || \builtin return 1
        __envguard_enabled=1
    fi
    # Pairs: a path, then its identity.
    \builtin set -- "${__envguard_rec_files[@]}"
    while (($# > 1)); do
        # The identity as envguard records it for bash: whole seconds, since envguard writes
        # a record only once its ctime seconds are safely over.
        if ! \builtin stat -A __envguard_st -- "$1" ||
            [[ "${__envguard_st[device]} ${__envguard_st[inode]} ${__envguard_st[size]} ${__envguard_st[type]}${__envguard_st[perms]} ${__envguard_st[uid]} ${__envguard_st[mtime]} ${__envguard_st[ctime]}" != "$2" ]]; then
            __envguard_same=''
            \builtin break
        fi
        \builtin shift 2
    done
    [[ -z ${__envguard_enabled} ]] || \builtin enable -n stat
    [[ -n ${__envguard_same} ]] || \builtin return 1
    ((${#__envguard_rec_inputs[@]} == 0)) && \builtin return 0
    __envguard_inputs
    [[ ${__envguard_seen} == "${__envguard_rec_state_inputs}" ]]
}

# Sets __envguard_seen to the referenced outer variables as the shell holds them: each one's
# name, whether it is set, its attributes (`x`, exported, is what envguard sees) and its
# value, length-prefixed so that no two environments read the same.
#
# These are the outer values themselves (a secret a .env refers to, say): no builtin can
# fingerprint them, and only an exact comparison keeps the fast path exact. So no copy
# outlives its use. __envguard_seen is always a local of the caller, gone when it returns.
# __envguard_rec_state_inputs lives only while its record is valid: the hook empties it with
# the record before every run of envguard, which is also every unload and every change of
# project, and writes it again only with a new record. A variable unset or changed since
# fails the next prompt's comparison, which drops the copy.
__envguard_inputs() {
    \builtin local __envguard_name __envguard_value
    __envguard_seen=
    for __envguard_name in "${__envguard_rec_inputs[@]}"; do
        __envguard_value=${!__envguard_name-}
        __envguard_seen+="${#__envguard_name}:${__envguard_name}${!__envguard_name+s${!__envguard_name@a}}:"
        __envguard_seen+="${#__envguard_value}:${__envguard_value}"
    done
}

__envguard_hook() {
    # Keep the status of the user's last command for the prompt and whatever runs after us, and
    # the user's shell options: `set -x` or `set -v` would print every loaded value, so both are
    # off while the hook runs and back as they were afterwards.
    \builtin local -r __envguard_status="$?" __envguard_flags="$-"
    \builtin set +xv
    \builtin local __envguard_out __envguard_trap __envguard_seen=''
    if __envguard_unchanged 2>/dev/null; then
        [[ ${__envguard_flags} != *v* ]] || \builtin set -v
        [[ ${__envguard_flags} != *x* ]] || \builtin set -x
        \builtin return "${__envguard_status}"
    fi
    # The record, and the copies of values it was compared with, end here (see above).
    __envguard_rec='' __envguard_rec_state_inputs='' __envguard_rec_key='' __envguard_rec_key_set=''
    # envguard reports its own failures on stderr; its exit status has nothing to add (and
    # must not end a shell running with `set -e`). It ignores Ctrl-C while it decides, so its
    # output is whole or absent.
    __envguard_out="$(__ENVGUARD_KEY="${__envguard_key-}" __ENVGUARD_RECORD="${__envguard_stat}" \command "${__envguard_exe}" export bash)" ||
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
    if [[ -n ${__envguard_rec} ]]; then
        __envguard_rec_state_set=${__ENVGUARD_STATE+s} __envguard_rec_state=${__ENVGUARD_STATE-}
        # The key decides too: without it (or with another) envguard would reload.
        __envguard_rec_key_set=${__envguard_key+s} __envguard_rec_key=${__envguard_key-}
        __envguard_inputs
        __envguard_rec_state_inputs=${__envguard_seen}
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
