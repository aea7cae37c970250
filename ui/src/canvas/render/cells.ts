/**
 * The cells of a square atlas: which are free, which is reserved for the solid white tile, and
 * where each one sits. Pure bookkeeping, no GPU: `DotAtlas` owns the texture they index.
 */

/** Cell 0 is always solid white: loading and missing tiles are it, tinted. */
export const WHITE_CELL = 0;

export class CellPool {
  readonly perRow: number;
  readonly capacity: number;
  private readonly freeCells: number[] = [];
  private readonly taken: Uint8Array;

  /** A pool for an atlas `side` px square cut into cells `cell` px square. */
  constructor(side: number, readonly cell: number) {
    this.perRow = Math.max(1, Math.floor(side / cell));
    this.capacity = this.perRow * this.perRow;
    this.taken = new Uint8Array(this.capacity);
    this.taken[WHITE_CELL] = 1;
    // Handed out from the top-left: the first images land near the white cell.
    for (let i = this.capacity - 1; i > WHITE_CELL; i--) this.freeCells.push(i);
  }

  /** Cells free to take. */
  get free(): number {
    return this.freeCells.length;
  }

  /** A free cell, or null when every cell is taken. */
  take(): number | null {
    const cell = this.freeCells.pop();
    if (cell === undefined) return null;
    this.taken[cell] = 1;
    return cell;
  }

  /** Gives a cell back (a second give, or the white cell, is ignored). */
  give(cell: number): void {
    if (cell === WHITE_CELL || cell < 0 || cell >= this.capacity || !this.taken[cell]) return;
    this.taken[cell] = 0;
    this.freeCells.push(cell);
  }

  /** Top-left corner of `cell`, in atlas pixels. */
  origin(cell: number): { x: number; y: number } {
    return { x: (cell % this.perRow) * this.cell, y: Math.floor(cell / this.perRow) * this.cell };
  }
}
