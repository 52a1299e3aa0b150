"""Pure-Python process and network functions: is_process_alive, find_free_port."""

# Ports are tried up to, not including, this one (as SkyPilot does).
PORT_LIMIT = 65535
# No process can have a pid above the largest pid_t; psutil raises OverflowError there.
MAX_PID = 2**31 - 1


def is_process_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie."""
    if pid <= 0 or pid > MAX_PID:
        return False
    import psutil  # here, not at import: psutil alone costs more than all of skyutils

    try:
        if not psutil.pid_exists(pid):
            return False
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        # The process exists; we are just not allowed to look at it.
        return True


def find_free_port(start_port: int) -> int:
    """First port from start_port up that an IPv4 TCP socket can bind on all interfaces."""
    import socket  # here: socket is a few ms of `import skyutils` otherwise

    for port in range(start_port, PORT_LIMIT):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(('', port))
                return port
            except OSError:
                continue
    raise OSError('No free ports available.')
