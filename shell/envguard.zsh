# envguard shell integration for zsh.
#
# Before every prompt and after every directory change, `envguard export zsh` prints the
# statements that load the nearest .env (or unload the previous one); this hook evaluates them.
# It prints nothing when nothing changed, which is almost always, so the hook first checks
# that itself, with builtins only, against the record envguard left at its last run (see
# src/hook/record.rs): while every file it looked at has the same identity, and the directory,
# the hook's state and key and the variables the file refers to are as they were, no process
# starts.

typeset -g __envguard_exe=@ENVGUARD_EXE@
# Tells `envguard doctor`, started from this shell, that the hook is active here: the pid tells
# this shell's mark from one inherited from an outer shell.
export __ENVGUARD_HOOK="zsh:$$"
# The key envguard fingerprints the variables a .env refers to with: shell-local, handed to
# envguard alone on each call, so no other program sees it. envguard sets it when needed.
typeset -g __envguard_key=${__envguard_key-}
# The record, shell-local like the key: a nested shell or `exec zsh` has none, and starts
# envguard once at its first prompt. `__envguard_rec` is set last, when the record is whole.
typeset -g __envguard_rec= __envguard_rec_dir= __envguard_rec_state= __envguard_rec_state_set=
typeset -g __envguard_rec_state_inputs= __envguard_rec_key= __envguard_rec_key_set=
typeset -ga __envguard_rec_absent __envguard_rec_dangling __envguard_rec_files __envguard_rec_inputs
# `zstat` alone (it ships with zsh): `-F` loads it without a `stat` builtin that would hide
# the user's stat command. Without it, envguard runs at every prompt.
typeset -g __envguard_zstat=
\builtin zmodload -F zsh/stat b:zstat 2>/dev/null && __envguard_zstat=1

# Whether nothing the record covers changed: any doubt is a no, and envguard decides. Its
# caller sends stderr to /dev/null once: a file that vanishes under zstat is a no, not a
# message.
__envguard_unchanged() {
    [[ -n ${__envguard_rec} && -n ${__envguard_zstat} && ${PWD} == "${__envguard_rec_dir}" ]] &&
        [[ ${PWD} -ef . && ${__ENVGUARD_STATE+s} == "${__envguard_rec_state_set}" ]] &&
        [[ ${__ENVGUARD_STATE-} == "${__envguard_rec_state}" ]] &&
        [[ ${__envguard_key+s} == "${__envguard_rec_key_set}" && ${__envguard_key-} == "${__envguard_rec_key}" ]] ||
        \builtin return 1
    \builtin local __envguard_file __envguard_seen=
    for __envguard_file in "${__envguard_rec_absent[@]}"; do
        [[ -e ${__envguard_file} || -L ${__envguard_file} ]] && \builtin return 1
    done
    for __envguard_file in "${__envguard_rec_dangling[@]}"; do
        [[ -L ${__envguard_file} && ! -e ${__envguard_file} ]] || \builtin return 1
    done
    # Pairs: a path, then its identity as envguard records it.
    \builtin local -A __envguard_st
    \builtin local -a __envguard_m __envguard_c
    \builtin local -i __envguard_i
    for (( __envguard_i = 1; __envguard_i < ${#__envguard_rec_files}; __envguard_i += 2 )); do
        __envguard_file=${__envguard_rec_files[__envguard_i]}
        # Three calls, because the one-call `-F` form would also resolve the owner to a name
        # on each prompt (slow under LDAP).
        \builtin zstat -H __envguard_st -- "${__envguard_file}" &&
            \builtin zstat -A __envguard_m -F '%s%N' +mtime -- "${__envguard_file}" &&
            \builtin zstat -A __envguard_c -F '%s%N' +ctime -- "${__envguard_file}" &&
            [[ "${__envguard_st[device]} ${__envguard_st[inode]} ${__envguard_st[size]} ${__envguard_st[mode]} ${__envguard_st[uid]} ${__envguard_m[1]} ${__envguard_c[1]}" == "${__envguard_rec_files[__envguard_i + 1]}" ]] ||
            \builtin return 1
    done
    ((${#__envguard_rec_inputs} == 0)) && \builtin return 0
    __envguard_inputs
    [[ ${__envguard_seen} == "${__envguard_rec_state_inputs}" ]]
}

# Sets __envguard_seen to the referenced outer variables as the shell holds them: each one's
# name, whether it is set, its type (`export` in it is what envguard sees) and its value,
# length-prefixed so that no two environments read the same.
#
# These are the outer values themselves (a secret a .env refers to, say): no builtin can
# fingerprint them, and only an exact comparison keeps the fast path exact. So no copy
# outlives its use. __envguard_seen is always a local of the caller, gone when it returns.
# __envguard_rec_state_inputs lives only while its record is valid: the hook empties it with
# the record before every run of envguard, which is also every unload and every change of
# project, and writes it again only with a new record. A variable unset or changed since
# fails the next prompt's comparison, which drops the copy.
__envguard_inputs() {
    \builtin local __envguard_name
    __envguard_seen=
    for __envguard_name in "${__envguard_rec_inputs[@]}"; do
        __envguard_seen+="${#__envguard_name}:${__envguard_name}${(P)+__envguard_name}${(Pt)__envguard_name}:"
        __envguard_seen+="${#${(P)__envguard_name-}}:${(P)__envguard_name-}"
    done
}

__envguard_hook() {
    # Keep the status of the user's last command for the prompt.
    \builtin local -r __envguard_status=$?
    # The user's options do not reach in here (ksh_arrays, nounset, err_exit): zsh's defaults,
    # put back as they were on return, as are the user's own traps. `setopt xtrace` would
    # print every loaded value: off in here.
    \builtin emulate -L zsh
    \builtin setopt no_xtrace no_verbose
    __envguard_unchanged 2>/dev/null && \builtin return ${__envguard_status}
    # Ctrl-C during the eval must not leave half an environment (as direnv does).
    \builtin trap -- '' INT
    # The record, and the copies of values it was compared with, end here (see above).
    __envguard_rec= __envguard_rec_state_inputs= __envguard_rec_key= __envguard_rec_key_set=
    \builtin local __envguard_seen=
    \builtin eval -- "$(__ENVGUARD_KEY=${__envguard_key-} __ENVGUARD_RECORD=${__envguard_zstat} \command "${__envguard_exe}" export zsh)"
    if [[ -n ${__envguard_rec} ]]; then
        __envguard_rec_state_set=${__ENVGUARD_STATE+s} __envguard_rec_state=${__ENVGUARD_STATE-}
        # The key decides too: without it (or with another) envguard would reload.
        __envguard_rec_key_set=${__envguard_key+s} __envguard_rec_key=${__envguard_key-}
        __envguard_inputs
        __envguard_rec_state_inputs=${__envguard_seen}
    fi
    \builtin return ${__envguard_status}
}

# add-zsh-hook adds a function once, so sourcing this file twice registers it once. chpwd makes
# `cd project && cmd` see the project's variables before the next prompt.
\builtin autoload -Uz add-zsh-hook
add-zsh-hook precmd __envguard_hook
add-zsh-hook chpwd __envguard_hook

# To load .env files as you change directory, add this line to ~/.zshrc:
#   eval "$(envguard hook zsh)"
