// Finds secrets in a stream of log text that arrives in chunks: a secret split across two chunks is still
// found, because each chunk is searched together with the end of the one before.

export class SecretScanner {
  private tail = '';
  private readonly longest: number;

  constructor(private readonly secrets: Record<string, string>) {
    this.longest = Math.max(0, ...Object.values(secrets).map((value) => value.length));
  }

  /** The names of the secrets that end in `chunk` (and may begin in the chunks before it). */
  scan(chunk: string): string[] {
    const text = this.tail + chunk;
    const seen = this.tail.length;
    this.tail = text.slice(-Math.max(0, this.longest - 1));
    return Object.entries(this.secrets)
      .filter(([, value]) => endsAfter(text, value, seen))
      .map(([name]) => name);
  }
}

/** Whether `value` occurs in `text` ending after its first `seen` characters, which were searched already. */
function endsAfter(text: string, value: string, seen: number): boolean {
  for (let at = text.indexOf(value); at !== -1; at = text.indexOf(value, at + 1))
    if (at + value.length > seen) return true;
  return false;
}
