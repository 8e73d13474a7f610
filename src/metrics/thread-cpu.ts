import { readFileSync, readlinkSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux architecture). */
const USER_HZ = 100;

/**
 * The calling thread's id in the operating system (Linux: from /proc/thread-self), or undefined where the
 * system does not say.
 */
export function ownThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) one thread of this process has used so far (Linux, /proc; 10 ms resolution),
 * or undefined where the system does not say or the thread has ended.
 */
export function threadCpuSeconds(tid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is the 3rd field, utime the 14th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / USER_HZ : undefined;
  } catch {
    return undefined;
  }
}
