# envguard shell integration for zsh.
#
# Before every prompt and after every directory change, `envguard export zsh` prints the
# statements that load the nearest .env (or unload the previous one); this hook evaluates them.
# It prints nothing when nothing changed, which is almost always.

typeset -g __envguard_exe=@ENVGUARD_EXE@
# Tells `envguard doctor`, started from this shell, that the hook is active here: the pid tells
# this shell's mark from one inherited from an outer shell.
export __ENVGUARD_HOOK="zsh:$$"
# The key envguard fingerprints the variables a .env refers to with: shell-local, handed to
# envguard alone on each call, so no other program sees it. envguard sets it when needed.
typeset -g __envguard_key=${__envguard_key-}

__envguard_hook() {
    # Keep the status of the user's last command for the prompt.
    \builtin local -r __envguard_status=$?
    # `setopt xtrace` would print every loaded value: off in here, and local_options puts the
    # user's setting back on return. local_traps does the same for the user's own INT trap.
    \builtin setopt local_options local_traps no_xtrace no_verbose
    # Ctrl-C during the eval must not leave half an environment (as direnv does).
    \builtin trap -- '' INT
    \builtin eval -- "$(__ENVGUARD_KEY=${__envguard_key} \command "${__envguard_exe}" export zsh)"
    \builtin return ${__envguard_status}
}

# add-zsh-hook adds a function once, so sourcing this file twice registers it once. chpwd makes
# `cd project && cmd` see the project's variables before the next prompt.
\builtin autoload -Uz add-zsh-hook
add-zsh-hook precmd __envguard_hook
add-zsh-hook chpwd __envguard_hook

# To load .env files as you change directory, add this line to ~/.zshrc:
#   eval "$(envguard hook zsh)"
