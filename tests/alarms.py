"""Ending a test's SIGALRM timer safely (shared by the signal, re-entry and fuzz tests)."""

import signal
import time


def stop_alarms(previous_handler) -> None:
    """Stops the interval timer and puts `previous_handler` back. An alarm still pending when
    the default action is back would end the process: block it, stop the timer, take pending
    alarms (sigtimedwait, where there is one), let any already taken reach SIG_IGN, then
    restore."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
    if hasattr(signal, 'sigtimedwait'):
        while signal.sigtimedwait({signal.SIGALRM}, 0) is not None:
            pass
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    # A process's signal goes to any thread not blocking it: an alarm another thread took
    # before the block waits for the main thread's handler. Let it find SIG_IGN, not the
    # default action (PyPy then ends the process: "Alarm clock").
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    time.sleep(0.05)
    signal.signal(signal.SIGALRM, previous_handler)
