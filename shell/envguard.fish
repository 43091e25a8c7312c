# envguard shell integration for fish.
#
# Before every prompt and after every directory change, `envguard export fish` prints the
# statements that load the nearest .env (or unload the previous one); this hook sources them.
# It prints nothing when nothing changed, which is almost always. Defining the function again
# replaces it, so sourcing this file twice registers the hook once.

set -g __envguard_exe @ENVGUARD_EXE@
# Tells `envguard doctor`, started from this shell, that the hook is active here: the pid tells
# this shell's mark from one inherited from an outer shell.
set -gx __ENVGUARD_HOOK "fish:$fish_pid"
# The key envguard fingerprints the variables a .env refers to with: not exported, handed to
# envguard alone on each call, so no other program sees it. envguard sets it when needed.
set -q __envguard_key; or set -g __envguard_key

function __envguard_hook --on-event fish_prompt --on-variable PWD
    set -l __envguard_status $status
    # `fish_trace` would print every loaded value: an empty local one turns tracing off in
    # here, and the user's own is back when the function returns.
    set -l fish_trace
    # envguard ignores Ctrl-C while it decides, so its output is whole or absent.
    set -l __envguard_out (__ENVGUARD_KEY="$__envguard_key" command $__envguard_exe export fish | string collect)
    if test -n "$__envguard_out"
        # Ctrl-C during the source must not leave half an environment. fish cancels on Ctrl-C
        # only when no handler observes SIGINT, so one is defined for the duration; the
        # user's own handlers (`trap`, `--on-signal`) are left as they are and still run.
        function __envguard_on_interrupt --on-signal INT
        end
        printf '%s\n' $__envguard_out | source
        functions --erase __envguard_on_interrupt
    end
    return $__envguard_status
end

# To load .env files as you change directory, add this line to ~/.config/fish/config.fish:
#   envguard hook fish | source
