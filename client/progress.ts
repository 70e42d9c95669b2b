// A progress line on stderr for work that can take a while (a checkpoint of many processes, a
// restore of many ptys), drawn only when stderr is a terminal, so pipes and logs never see it.

const FRAMES = ['|', '/', '-', '\\'];
const EVERY_MS = 120;

/** Shows `text` with a spinner on stderr while `work` runs, and erases it when it is done. */
export async function withProgress<T>(
  text: string,
  work: Promise<T>,
  stream: NodeJS.WriteStream = process.stderr,
): Promise<T> {
  if (!stream.isTTY) return work;

  let frame = 0;
  const draw = (): void => void stream.write(`\r${FRAMES[frame++ % FRAMES.length]} ${text}`);
  draw();
  const timer = setInterval(draw, EVERY_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    // Back to the start of the line and clear it: the result prints where the spinner was.
    stream.write('\r\x1b[K');
  }
}

/** `3 processes`, `1 process`. */
export function count(n: number, noun: string, plural = `${noun}es`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
