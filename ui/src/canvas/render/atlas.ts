/**
 * `DotAtlas`: one GPU texture holding a 32 px copy of every image drawn far out (`dot` level),
 * so ten thousand images in view are drawn from a single texture in a handful of draw calls
 * instead of one texture and one draw call each — on a software rasterizer, where each draw
 * call pays for its setup, the difference between a smooth far zoom and a slide show.
 *
 * The atlas is a render target allocated once (`ATLAS_SIDE` square, or the GPU's limit) with
 * its own mip chain: a cell's image is rendered into every level itself (32, 16 … 1 px), so a
 * cell never blurs into its neighbours however far out the camera is, and no mip chain of the
 * whole atlas is regenerated when a cell changes. Cells are handed out by `CellPool`; the
 * texture cache takes one per loaded `dot` image and gives it back when the image goes idle.
 * Writes made during a frame are rendered into the atlas by `flush`, before that frame draws.
 */
import { Container, Rectangle, Sprite, Texture, TextureSource, type Renderer } from 'pixi.js';
import { DOT_SIZE } from '../math/lod';
import { CellPool, WHITE_CELL } from './cells';

/** Side of the atlas, in pixels (64 MB of texture, 85 MB with its mip levels). */
export const ATLAS_SIDE = 4096;
/** What a cell's texture leaves out on each side, in pixels of level 0. */
const CELL_INSET = 1;
/** Mip levels of a cell: 32, 16, 8, 4, 2 and 1 px. */
const LEVELS = Math.log2(DOT_SIZE) + 1;

/** What the texture cache needs of an atlas (tests give it a stand-in). */
export interface CellStore {
  /** A cell for an image about to load, or null when the atlas is full. */
  reserve(): number | null;
  /** Draws `image` into a reserved cell (stretched to the square); the cell's texture. */
  fill(cell: number, image: CanvasImageSource): Texture;
  /** Gives a cell back. */
  release(cell: number): void;
}

export class DotAtlas implements CellStore {
  /** The whole atlas: what the particle containers of the far layer draw with. */
  readonly texture: Texture;
  private readonly source: TextureSource;
  private readonly pool: CellPool;
  private readonly cells = new Map<number, Texture>();
  /** Cells written since the last flush, with what goes in them (null: solid white). */
  private pending = new Map<number, CanvasImageSource | null>();

  constructor(
    private readonly renderer: Renderer,
    maxSide: number,
  ) {
    const side = Math.min(ATLAS_SIDE, maxSide);
    // Rendering into a mip level above 0 needs WebGL 2; on WebGL 1 the atlas has one level.
    const webgl2 = (renderer as unknown as { context?: { webGLVersion?: number } }).context?.webGLVersion === 2;
    this.source = new TextureSource({
      width: side,
      height: side,
      mipLevelCount: webgl2 ? LEVELS : 1,
      autoGenerateMipmaps: false,
      scaleMode: 'linear',
      mipmapFilter: 'linear',
      label: 'dot atlas',
    });
    this.texture = new Texture({ source: this.source });
    this.pool = new CellPool(side, DOT_SIZE);
    this.pending.set(WHITE_CELL, null);
  }

  /** Cells the atlas has, the white one included. */
  get capacity(): number {
    return this.pool.capacity;
  }

  /** The solid white cell: loading and missing tiles are drawn with it, tinted. */
  get white(): Texture {
    return this.cell(WHITE_CELL);
  }

  reserve(): number | null {
    return this.pool.take();
  }

  fill(cell: number, image: CanvasImageSource): Texture {
    this.pending.set(cell, image);
    return this.cell(cell);
  }

  release(cell: number): void {
    this.pending.delete(cell);
    this.pool.give(cell);
  }

  /** Renders the cells written since the last flush into every mip level of the atlas. */
  flush(): void {
    if (this.pending.size === 0) return;
    const stage = new Container();
    const made: Texture[] = [];
    for (const [cell, image] of this.pending) {
      const { x, y } = this.pool.origin(cell);
      // A reused cell is cleared first, or a transparent image would show the one before it.
      const clear = new Sprite(Texture.WHITE);
      clear.blendMode = 'erase';
      clear.position.set(x, y);
      clear.setSize(DOT_SIZE, DOT_SIZE);
      const texture = image === null ? Texture.WHITE : Texture.from(image as HTMLCanvasElement, true);
      if (image !== null) {
        // Its own mips, so each level of the cell is drawn from a source of about its size.
        texture.source.autoGenerateMipmaps = true;
        texture.source.scaleMode = 'linear';
        made.push(texture);
      }
      const sprite = new Sprite(texture);
      sprite.position.set(x, y);
      sprite.setSize(DOT_SIZE, DOT_SIZE);
      stage.addChild(clear, sprite);
    }
    this.pending = new Map();
    for (let level = 0; level < this.source.mipLevelCount; level++) {
      // A level's projection spans its own pixels: the cells are laid out at its scale.
      stage.scale.set(1 / 2 ** level);
      this.renderer.render({ container: stage, target: this.texture, clear: false, mipLevel: level });
    }
    stage.destroy({ children: true });
    for (const t of made) t.destroy(true);
  }

  destroy(): void {
    for (const t of this.cells.values()) t.destroy(false);
    this.cells.clear();
    this.texture.destroy(true);
  }

  /** The texture of one cell (made once, kept while the atlas lives). */
  private cell(cell: number): Texture {
    let t = this.cells.get(cell);
    if (!t) {
      const { x, y } = this.pool.origin(cell);
      // One pixel in from each side: sampled between mip levels, the edge texels would
      // otherwise blend in a little of the neighbouring cell.
      t = new Texture({ source: this.source, frame: new Rectangle(x + CELL_INSET, y + CELL_INSET, DOT_SIZE - 2 * CELL_INSET, DOT_SIZE - 2 * CELL_INSET) });
      this.cells.set(cell, t);
    }
    return t;
  }
}
