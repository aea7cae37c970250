/**
 * `DotAtlas`: one GPU texture holding a 32 px copy of every image drawn far out (`dot` level),
 * so ten thousand images in view are drawn from a single texture in a handful of draw calls
 * instead of one texture and one draw call each — on a software rasterizer, where each draw
 * call pays for its setup, the difference between a smooth far zoom and a slide show.
 *
 * The atlas is a render target allocated once (`ATLAS_SIDE` square, or the GPU's limit) with
 * its own mip chain: a cell's image is shrunk to every level on the CPU and drawn into that
 * level (32, 16 … 1 px), so a cell never blurs into its neighbours however far out the camera
 * is, and no mip chain of the whole atlas is regenerated when a cell changes. Cells are handed out by `CellPool`; the
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

/** The GPU side of the atlas, made on first use. */
interface Store {
  source: TextureSource;
  texture: Texture;
  pool: CellPool;
}

export class DotAtlas implements CellStore {
  private store: Store | null = null;
  private readonly cells = new Map<number, Texture>();
  /** Cells written since the last flush, with what goes in them (null: solid white). */
  private pending = new Map<number, CanvasImageSource | null>();

  /**
   * Nothing is allocated until the first far-out image asks for a cell: a canvas never zoomed
   * out that far (or an empty one, at start-up) pays nothing for the atlas.
   */
  constructor(
    private readonly renderer: Renderer,
    /** The GPU's largest texture side (asked only when the atlas is made: it waits on the GPU). */
    private readonly maxSide: () => number,
  ) {}

  /** The whole atlas: what the particle containers of the far layer draw with. */
  get texture(): Texture {
    return this.made().texture;
  }

  /** The solid white cell: loading and missing tiles are drawn with it, tinted. */
  get white(): Texture {
    return this.cell(WHITE_CELL);
  }

  reserve(): number | null {
    return this.made().pool.take();
  }

  fill(cell: number, image: CanvasImageSource): Texture {
    this.pending.set(cell, image);
    return this.cell(cell);
  }

  release(cell: number): void {
    this.pending.delete(cell);
    this.store?.pool.give(cell);
  }

  /**
   * Renders the cells written since the last flush into every mip level of the atlas. Each
   * level is one strip (the new cells side by side at that level's size, shrunk on the CPU)
   * drawn in two batches — erase the cells, then the strip's pieces — so a flush costs the
   * same few draw calls whether one image landed or fifty.
   */
  flush(): void {
    const store = this.store;
    if (!store || this.pending.size === 0) return;
    const cells = [...this.pending];
    this.pending = new Map();
    for (let level = 0; level < store.source.mipLevelCount; level++) {
      const side = DOT_SIZE >> level;
      const strip = document.createElement('canvas');
      strip.width = side * cells.length;
      strip.height = side;
      const ctx = strip.getContext('2d');
      if (!ctx) return;
      ctx.imageSmoothingQuality = 'high';
      ctx.fillStyle = '#ffffff';
      cells.forEach(([, image], i) => {
        if (image === null) ctx.fillRect(i * side, 0, side, side);
        else ctx.drawImage(image, i * side, 0, side, side);
      });
      const source = Texture.from(strip, true).source;
      const stage = new Container();
      // A reused cell is cleared first, or a transparent image would show the one before it.
      const erased = cells.map(([cell]) => {
        const clear = new Sprite(Texture.WHITE);
        clear.blendMode = 'erase';
        return this.place(clear, store, cell);
      });
      const drawn = cells.map(([cell], i) =>
        this.place(new Sprite(new Texture({ source, frame: new Rectangle(i * side, 0, side, side) })), store, cell),
      );
      stage.addChild(...erased, ...drawn);
      // A level's projection spans its own pixels: the cells are laid out at its scale.
      stage.scale.set(1 / 2 ** level);
      this.renderer.render({ container: stage, target: store.texture, clear: false, mipLevel: level });
      for (const sprite of drawn) sprite.texture.destroy(false);
      stage.destroy({ children: true });
      source.destroy();
    }
  }

  /** `sprite` over `cell`, in level-0 atlas pixels. */
  private place(sprite: Sprite, store: Store, cell: number): Sprite {
    const { x, y } = store.pool.origin(cell);
    sprite.position.set(x, y);
    sprite.setSize(DOT_SIZE, DOT_SIZE);
    return sprite;
  }

  destroy(): void {
    for (const t of this.cells.values()) t.destroy(false);
    this.cells.clear();
    this.store?.texture.destroy(true);
    this.store = null;
  }

  private made(): Store {
    if (this.store) return this.store;
    const side = Math.min(ATLAS_SIDE, this.maxSide());
    // Rendering into a mip level above 0 needs WebGL 2; on WebGL 1 the atlas has one level.
    const webgl2 = (this.renderer as unknown as { context?: { webGLVersion?: number } }).context?.webGLVersion === 2;
    const source = new TextureSource({
      width: side,
      height: side,
      mipLevelCount: webgl2 ? LEVELS : 1,
      autoGenerateMipmaps: false,
      scaleMode: 'linear',
      mipmapFilter: 'linear',
      label: 'dot atlas',
    });
    this.store = { source, texture: new Texture({ source }), pool: new CellPool(side, DOT_SIZE) };
    this.pending.set(WHITE_CELL, null);
    return this.store;
  }

  /** The texture of one cell (made once, kept while the atlas lives). */
  private cell(cell: number): Texture {
    let t = this.cells.get(cell);
    if (!t) {
      const { source, pool } = this.made();
      const { x, y } = pool.origin(cell);
      // One pixel in from each side: sampled between mip levels, the edge texels would
      // otherwise blend in a little of the neighbouring cell.
      t = new Texture({ source, frame: new Rectangle(x + CELL_INSET, y + CELL_INSET, DOT_SIZE - 2 * CELL_INSET, DOT_SIZE - 2 * CELL_INSET) });
      this.cells.set(cell, t);
    }
    return t;
  }
}
