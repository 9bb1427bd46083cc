// Where the CLI writes: stdout for results, stderr for messages. Colours only on a terminal, and
// never with NO_COLOR, TERM=dumb or --no-color.
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

export interface Output {
  readonly isTTY: boolean;
  readonly color: Colors;
  /** Columns of the terminal; undefined when not a terminal. */
  readonly columns: number | undefined;
  write(text: string): void;
  line(text?: string): void;
}

export function createOutput(stream: NodeJS.WriteStream, colorWanted: boolean): Output {
  const isTTY = stream.isTTY === true;
  const env = process.env;
  const enabled = colorWanted && isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
  return {
    isTTY,
    color: pc.createColors(enabled),
    get columns() {
      return isTTY ? stream.columns : undefined;
    },
    write: (text) => void stream.write(text),
    line: (text = '') => void stream.write(`${text}\n`),
  };
}
