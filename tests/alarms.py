"""Ending a test's SIGALRM timer safely (shared by the signal, re-entry and fuzz tests)."""
import signal
import time


def stop_alarms(previous_handler) -> None:
    """Stops the interval timer and puts `previous_handler` back. An alarm still pending when
    the default action is back would end the process: block it, stop the timer, let pending
    alarms be taken (by sigtimedwait, or by the handler in a short sleep where it is missing),
    then restore."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
    if hasattr(signal, 'sigtimedwait'):
        while signal.sigtimedwait({signal.SIGALRM}, 0) is not None:
            pass
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    if not hasattr(signal, 'sigtimedwait'):
        time.sleep(0.05)
    signal.signal(signal.SIGALRM, previous_handler)
