import { stderr, type TextSink } from './std-stream.js';

/**
 * A one-line activity indicator on stderr, for a person at a terminal only. It redraws from its
 * own timer, at most ten times a second, however often its text changes: a wait reports progress
 * on every poll (up to hundreds of times a second), and on a serial console each redraw costs.
 */
export class Spinner {
  private static readonly FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  /** 10 redraws a second. */
  static readonly INTERVAL_MS = 100;
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private text = '';

  constructor(private readonly stream: TextSink = stderr()) {}

  update(text: string): void {
    this.text = text;
    if (this.timer) return; // the next tick shows it
    this.draw();
    this.timer = setInterval(() => this.draw(), Spinner.INTERVAL_MS);
    this.timer.unref();
  }

  private draw(): void {
    this.stream.write(`\r\x1b[2K${Spinner.FRAMES[this.frame++ % Spinner.FRAMES.length]} ${this.text}`);
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write('\r\x1b[2K');
  }
}
