//! Depthwise 2-D convolution: PyTorch's `conv2d` with `groups = C`, where output channel `c·m + j` (`m` the
//! channel multiplier) correlates input channel c with its own `kh × kw` filter (weights `C·m × 1 × kh × kw`).
//!
//! Per channel this is a small 2-D stencil, the wrong shape for a GEMM. Each input plane is copied once,
//! zero-padded and split by column phase (padded column `t·sw + q` goes to phase plane q at column t), so
//! every tap of a stride-`sw` output row is a contiguous run of one phase plane and `f32_dwconv_rows`
//! computes the row from a table of tap offsets, four outputs per vector, with no shuffles in its loop.
//! The input gradient is the same kernel over a padded copy of the output gradient, one column phase of the
//! input at a time (a stride-2 input row interleaves two phases), the rows that share their taps in one
//! call; the weight gradient is one dot product per tap (`f32_dwconv_wgrad_row`), summed per plane in f32
//! lanes and across samples in f64.
//!
//! The forward runs one task per input plane, the backward one task per input channel (over all samples,
//! so the weight gradient needs no partial sums): results do not depend on the thread count.

use super::adaptive_pool::sum_f64;
use super::conv2d::check_len;
use super::conv2d_implicit::copy_short;
use super::geom::Window;
use crate::error::{self, Error, Result};
use crate::par::{self, SyncPtr};
use crate::simd::F32x4;
use crate::ukernel::f32_dwconv_rows::{f32_dwconv_rows, ROW_SLACK};
use crate::ukernel::f32_dwconv_wgrad_row::f32_dwconv_wgrad_row;
use std::cell::RefCell;

/// Zeroed floats after every padded buffer: rows are read whole vectors at a time.
const SLACK: usize = ROW_SLACK + 1;

#[derive(Default)]
struct Scratch {
    /// Phase planes of an input plane, and the geometry whose padding they hold (zero).
    x: Vec<f32>,
    x_for: Option<Depthwise2d>,
    /// Padded output-gradient rows of an input channel's `m` outputs, likewise.
    dy: Vec<f32>,
    dy_for: Option<Depthwise2d>,
    phase_rows: Vec<f32>,
    tap_w: Vec<f32>,
    lanes: Vec<f32>,
    dw: Vec<f64>,
    db: Vec<f64>,
}

thread_local! {
    // Grow-only per-thread buffers of one plane's (or channel's) work.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A depthwise convolution: the window (`c` input channels) and the channel multiplier `m` (`C·m` outputs).
/// Built by `new`, which refuses what the kernels cannot run, so the passes only check buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Depthwise2d {
    win: Window,
    m: usize,
    /// Rows of the padded input the outputs read, and columns of one phase plane.
    hp: usize,
    wq: usize,
    /// The largest column shift of a tap within its phase, `(kw - 1)·dw / sw`.
    shift: usize,
    /// Columns of a padded output-gradient row (the input gradient's taps).
    lu: usize,
}

impl Depthwise2d {
    /// Validates the window (`Window::validate`), `multiplier` ≥ 1 and every buffer and scratch size.
    pub fn new(win: Window, multiplier: usize) -> Result<Self> {
        win.validate()?;
        if multiplier == 0 {
            return Err(Error::BadGeometry);
        }
        let o = error::mul(win.c, multiplier)?;
        error::numel(&[win.n, o, win.oh, win.ow])?;
        error::numel(&[o, win.kh, win.kw])?;
        let hp = win.reach_h()?;
        let shift = (win.kw - 1) * win.dw / win.sw;
        let wq = error::add(win.ow, shift)?;
        error::add(error::numel(&[win.sw, hp, wq])?, SLACK)?;
        // Phase columns of the input row: t < (pl + w - 1) / sw + 1.
        let t_end = (error::add(win.pl, win.w)? - 1) / win.sw + 1;
        let lu = error::add(shift, win.ow.max(t_end))?;
        error::add(error::numel(&[multiplier, win.oh, lu])?, SLACK)?;
        // The input gradient's tap table and phase rows.
        error::numel(&[win.h, multiplier, win.kh, win.kw])?;
        error::numel(&[win.sw, win.h, win.w.div_ceil(win.sw)])?;
        Ok(Self { win, m: multiplier, hp, wq, shift, lu })
    }

    pub fn window(&self) -> &Window {
        &self.win
    }
    pub fn multiplier(&self) -> usize {
        self.m
    }
    /// Floats of x (`N·C·H·W`), y (`N·C·m·OH·OW`) and the weights (`C·m·KH·KW`).
    pub fn x_len(&self) -> usize {
        self.win.n * self.win.c * self.win.in_plane()
    }
    pub fn y_len(&self) -> usize {
        self.win.n * self.win.c * self.m * self.win.out_plane()
    }
    pub fn w_len(&self) -> usize {
        self.win.c * self.m * self.taps()
    }

    fn taps(&self) -> usize {
        self.win.kh * self.win.kw
    }

    fn phase_plane(&self) -> usize {
        self.hp * self.wq
    }

    /// Floats of one input plane split into phases, with slack.
    fn x_floats(&self) -> usize {
        self.win.sw * self.phase_plane() + SLACK
    }

    /// Tap (i, j)'s offset from an output row's first read in the phase planes: phase `(j·dw) % sw`, row
    /// `i·dh`, column `(j·dw) / sw`.
    fn forward_offsets(&self) -> Result<Vec<usize>> {
        let g = &self.win;
        let mut off = error::zeroed(self.taps())?;
        for i in 0..g.kh {
            for j in 0..g.kw {
                off[i * g.kw + j] = (j * g.dw % g.sw) * self.phase_plane() + i * g.dh * self.wq + j * g.dw / g.sw;
            }
        }
        Ok(off)
    }

    /// Row oy reads `buf[oy·sh·wq + off[t] .. + ow + ROW_SLACK]`; the last row's furthest read is
    /// `(hp - 1)·wq + (sw - 1)·plane + shift + ow + 2 = sw·plane + 2`, inside `x_floats`.
    fn assert_reads(&self, off: &[usize]) {
        let g = &self.win;
        assert!((g.oh - 1) * g.sh * self.wq + off.iter().max().unwrap() + g.ow + ROW_SLACK <= self.x_floats());
    }

    /// Phase q of an input row: phase columns `t_lo..t_lo + count` hold input columns `ix0, ix0 + sw, …`
    /// (`count` uncapped: the phase plane keeps the first `wq - t_lo`).
    fn phase_run(&self, q: usize) -> PhaseRun {
        let (sw, pl, w) = (self.win.sw, self.win.pl, self.win.w);
        let t_lo = pl.saturating_sub(q).div_ceil(sw);
        let ix0 = t_lo * sw + q - pl;
        PhaseRun { t_lo, ix0, count: if ix0 < w { (w - ix0).div_ceil(sw) } else { 0 } }
    }

    /// This thread's phase planes for this geometry: zeroed when the buffer last held another geometry's,
    /// so the padding (rows, margins, slack) is zero and `split_phases` only writes the input's runs (small
    /// fills become `memory.fill` calls in wasm, which cost more than a row's work).
    fn phase_buffer<'s>(&self, s: &'s mut Scratch) -> Result<&'s mut [f32]> {
        let len = self.x_floats();
        error::grow(&mut s.x, len)?;
        if s.x_for != Some(*self) {
            s.x[..len].fill(0.0);
            s.x_for = Some(*self);
        }
        Ok(&mut s.x[..len])
    }

    /// Each phase's run as it fits the phase rows (`split_phases`' plan, once per call: its divisions cost
    /// more than a small plane's copy).
    fn split_runs(&self) -> Result<Vec<PhaseRun>> {
        let mut runs = Vec::new();
        runs.try_reserve_exact(self.win.sw).map_err(|_| Error::OutOfMemory)?;
        runs.extend((0..self.win.sw).map(|q| self.phase_run(q).capped(self.wq)));
        Ok(runs)
    }

    /// Copies input plane `x` into its runs of `buf` (`phase_buffer`), split by column phase (`runs` from
    /// `split_runs`). Loop bounds are the same for every row, so nothing is sliced or divided per row (that
    /// cost as much as a 7-wide row's copy).
    fn split_phases(&self, runs: &[PhaseRun], x: &[f32], buf: &mut [f32]) {
        let (g, wq, plane) = (&self.win, self.wq, self.phase_plane());
        let rows = g.pt.min(self.hp)..(g.pt + g.h).min(self.hp);
        assert!(x.len() == g.h * g.w && buf.len() >= g.sw * plane && runs.len() == g.sw);
        assert!(runs.iter().all(|r| r.t_lo + r.count <= wq && (r.count == 0 || r.ix0 + (r.count - 1) * g.sw < g.w)));
        // SAFETY (all three paths): rows lie in pt..pt + h and below hp, so input row r - pt and phase row r
        // exist; each run writes t_lo..t_lo + count ≤ wq of its phase row and reads input columns
        // ix0 + k·sw < w (asserted above).
        let (xp, bp) = (x.as_ptr(), buf.as_mut_ptr());
        match g.sw {
            1 => {
                let run = runs[0];
                let n4 = run.count / 4 * 4;
                for r in rows {
                    unsafe {
                        let (src, dst) = (xp.add((r - g.pt) * g.w), bp.add(r * wq + run.t_lo));
                        for k in (0..n4).step_by(4) {
                            F32x4::load(src.add(k)).store(dst.add(k));
                        }
                        F32x4::load_first(src.add(n4), run.count - n4).store_first(dst.add(n4), run.count - n4);
                    }
                }
            }
            2 => {
                // Both phases in one pass: even and odd input columns of a loaded pair of vectors.
                let (qe, qo) = if runs[0].ix0 == 0 { (0, 1) } else { (1, 0) };
                let (re, ro) = (runs[qe], runs[qo]);
                let vecs = (g.w / 8).min(re.count.min(ro.count) / 4);
                for r in rows {
                    unsafe {
                        let src = xp.add((r - g.pt) * g.w);
                        let (de, dodd) = (bp.add(qe * plane + r * wq + re.t_lo), bp.add(qo * plane + r * wq + ro.t_lo));
                        for k in 0..vecs {
                            let (e, o) = F32x4::deinterleave2(F32x4::load(src.add(8 * k)), F32x4::load(src.add(8 * k + 4)));
                            e.store(de.add(4 * k));
                            o.store(dodd.add(4 * k));
                        }
                        for t in 4 * vecs..re.count {
                            *de.add(t) = *src.add(2 * t);
                        }
                        for t in 4 * vecs..ro.count {
                            *dodd.add(t) = *src.add(1 + 2 * t);
                        }
                    }
                }
            }
            _ => {
                for (q, run) in runs.iter().enumerate() {
                    for r in rows.clone() {
                        for t in 0..run.count {
                            unsafe { *bp.add(q * plane + r * wq + run.t_lo + t) = *xp.add((r - g.pt) * g.w + run.ix0 + t * g.sw) };
                        }
                    }
                }
            }
        }
    }

    /// `y[n][c·m + j] = bias[c·m + j] + Σ_{i,j'} w[c·m + j][i][j'] · x[n][c][oy·sh + i·dh - pt][ox·sw + j'·dw - pl]`.
    /// Input planes (each with its `m` output planes) are independent tasks.
    pub fn forward(&self, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) -> Result {
        check_len(x.len(), self.x_len())?;
        check_len(w.len(), self.w_len())?;
        check_len(y.len(), self.y_len())?;
        if let Some(b) = bias {
            check_len(b.len(), self.win.c * self.m)?;
        }
        let (g, m, kk) = (&self.win, self.m, self.taps());
        let (ipl, opl) = (g.in_plane(), g.out_plane());
        let off = self.forward_offsets()?;
        self.assert_reads(&off);
        let runs = self.split_runs()?;
        // Input planes per task: enough outputs (~4K) to repay a task's set-up on small planes.
        let per = (4096 / (m * opl)).max(1);
        par::try_chunks_mut(y, per * m * opl, |task, yt| {
            with_scratch(|s| {
                let buf = self.phase_buffer(s)?;
                for (k, yp) in yt.chunks_mut(m * opl).enumerate() {
                    let p = task * per + k;
                    self.split_phases(&runs, &x[p * ipl..(p + 1) * ipl], buf);
                    for jm in 0..m {
                        let oc = (p % g.c) * m + jm;
                        let init = bias.map_or(0.0, |b| b[oc]);
                        // SAFETY: w holds kk taps at oc·kk; row oy's reads (at oy·sh·wq) are bounded by the
                        // assert above; output row oy (jm·opl + oy·ow, ow floats) lies in this plane's m planes.
                        unsafe { f32_dwconv_rows(kk, w.as_ptr().add(oc * kk), buf.as_ptr(), off.as_ptr(), g.ow, g.oh, g.sh * self.wq, init, yp.as_mut_ptr().add(jm * opl), g.ow) };
                    }
                }
                Ok(())
            })
        })
    }

    /// Gradients of `forward` given `dy`: `dw`/`db` overwritten, or added to when `accumulate`; `dx`, when
    /// asked for, overwritten. One task per input channel, over every sample in order.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(&self, x: &[f32], w: &[f32], dy: &[f32], dx: Option<&mut [f32]>, dw: &mut [f32], db: Option<&mut [f32]>, accumulate: bool) -> Result {
        check_len(x.len(), self.x_len())?;
        check_len(w.len(), self.w_len())?;
        check_len(dy.len(), self.y_len())?;
        check_len(dw.len(), w.len())?;
        if let Some(d) = dx.as_deref() {
            check_len(d.len(), x.len())?;
        }
        if let Some(d) = db.as_deref() {
            check_len(d.len(), self.win.c * self.m)?;
        }
        let (g, m, kk) = (&self.win, self.m, self.taps());
        let (ipl, opl) = (g.in_plane(), g.out_plane());
        let off = self.forward_offsets()?;
        self.assert_reads(&off);
        let runs = self.split_runs()?;
        let dx_taps = dx.is_some().then(|| self.dx_taps()).transpose()?;
        let dxp = SyncPtr(dx.map_or(std::ptr::null_mut(), |d| d.as_mut_ptr()));
        let dbp = db.map(|d| SyncPtr(d.as_mut_ptr()));
        par::try_chunks_mut(dw, m * kk, |ci, dwc| {
            with_scratch(|s| {
                self.phase_buffer(s)?;
                error::grow(&mut s.lanes, 4 * kk)?;
                error::grow(&mut s.dw, m * kk)?;
                error::grow(&mut s.db, m)?;
                s.dw[..m * kk].fill(0.0);
                s.db[..m].fill(0.0);
                if let Some(taps) = &dx_taps {
                    // The input gradient's tap weights of this channel, once for all samples.
                    error::grow(&mut s.tap_w, taps.widx.len())?;
                    for (tw, &wi) in s.tap_w.iter_mut().zip(&taps.widx) {
                        *tw = w[ci * m * kk + wi];
                    }
                }
                for n in 0..g.n {
                    self.split_phases(&runs, &x[(n * g.c + ci) * ipl..][..ipl], &mut s.x[..self.x_floats()]);
                    for jm in 0..m {
                        let dyp = &dy[(n * g.c * m + ci * m + jm) * opl..][..opl];
                        if dbp.is_some() {
                            s.db[jm] += sum_f64(dyp);
                        }
                        let lanes = &mut s.lanes[..4 * kk];
                        for oy in 0..g.oh {
                            // SAFETY: reads bounded as in the forward (assert above); dy row oy has ow floats;
                            // lanes holds 4·kk (overwritten by row 0).
                            unsafe { f32_dwconv_wgrad_row(kk, s.x.as_ptr().add(oy * g.sh * self.wq), off.as_ptr(), dyp.as_ptr().add(oy * g.ow), g.ow, lanes.as_mut_ptr(), oy > 0) };
                        }
                        for (t, l) in lanes.chunks_exact(4).enumerate() {
                            s.dw[jm * kk + t] += (l[0] as f64 + l[1] as f64) + (l[2] as f64 + l[3] as f64);
                        }
                    }
                    if let Some(taps) = &dx_taps {
                        // SAFETY: task ci alone writes input plane (n, ci) of dx, inside the checked length.
                        let dxn = unsafe { std::slice::from_raw_parts_mut(dxp.get().add((n * g.c + ci) * ipl), ipl) };
                        self.input_grad_plane(taps, &dy[(n * g.c + ci) * m * opl..][..m * opl], s, dxn)?;
                    }
                }
                for (d, &v) in dwc.iter_mut().zip(&s.dw[..m * kk]) {
                    *d = if accumulate { *d + v as f32 } else { v as f32 };
                }
                if let Some(dbp) = dbp {
                    for (jm, &v) in s.db[..m].iter().enumerate() {
                        // SAFETY: task ci alone writes db[ci·m .. (ci+1)·m], inside the checked length.
                        let d = unsafe { &mut *dbp.get().add(ci * m + jm) };
                        *d = if accumulate { *d + v as f32 } else { v as f32 };
                    }
                }
                Ok(())
            })
        })
    }

    /// The input gradient's taps (`DxTaps`): `dx[iy][ix] = Σ_{j<m, i, j'} w[c·m + j][i][j'] · dy[j][oy][ox]`
    /// over the taps with `oy·sh + i·dh = iy + pt` and `ox·sw + j'·dw = ix + pl`, in (j, i, j') order.
    /// Input column `ix = t·sw + q - pl` of phase q is output column `t - (j'·dw)/sw` of every tap with
    /// `(j'·dw) % sw = q`: a contiguous run of the padded `dy` row, starting `shift` columns in. Input rows
    /// `sh` apart read the same taps one `dy` row further on, except near the borders: such rows form one
    /// `DxBlock` (one microkernel call).
    fn dx_taps(&self) -> Result<DxTaps> {
        let (g, m, kk, lu) = (&self.win, self.m, self.taps(), self.lu);
        let mut t = DxTaps { blocks: Vec::new(), widx: Vec::new(), off: Vec::new(), phases: Vec::new() };
        let most = error::numel(&[g.h, m, kk])?;
        for v in [&mut t.widx, &mut t.off] {
            v.try_reserve_exact(most).map_err(|_| Error::OutOfMemory)?;
        }
        t.blocks.try_reserve_exact(error::mul(g.h, g.sw)?).map_err(|_| Error::OutOfMemory)?;
        t.phases.try_reserve_exact(g.sw).map_err(|_| Error::OutOfMemory)?;
        t.phases.extend((0..g.sw).map(|q| self.phase_run(q)));
        let mut reach = 0;
        for (q, run) in t.phases.iter().enumerate() {
            if run.count == 0 {
                continue;
            }
            for class in 0..g.sh.min(g.h) {
                for iy in (class..g.h).step_by(g.sh) {
                    let a = t.widx.len();
                    let py = iy + g.pt;
                    for jm in 0..m {
                        for i in 0..g.kh {
                            let Some(d) = py.checked_sub(i * g.dh) else { break };
                            if d % g.sh != 0 || d / g.sh >= g.oh {
                                continue;
                            }
                            let row = (jm * g.oh + d / g.sh) * lu + self.shift + run.t_lo;
                            for j in (0..g.kw).filter(|j| j * g.dw % g.sw == q) {
                                t.widx.push(jm * kk + i * g.kw + j);
                                t.off.push(row - j * g.dw / g.sw);
                            }
                        }
                    }
                    // The same weights one dy row on from the current block's first row: extend the block.
                    let b = t.widx.len();
                    if let Some(last) = t.blocks.last_mut().filter(|l| l.q == q && iy == l.iy + l.rows * g.sh) {
                        let (la, lb) = last.taps;
                        if t.widx[la..lb] == t.widx[a..b] && (0..b - a).all(|k| t.off[a + k] == t.off[la + k] + last.rows * lu) {
                            t.widx.truncate(a);
                            t.off.truncate(a);
                            last.rows += 1;
                            reach = reach.max(t.off[la..lb].iter().max().map_or(0, |&o| o + (last.rows - 1) * lu + run.count));
                            continue;
                        }
                    }
                    t.blocks.push(DxBlock { q, iy, rows: 1, taps: (a, b) });
                    reach = reach.max(t.off[a..b].iter().max().map_or(0, |&o| o + run.count));
                }
            }
        }
        // Every block's rows read at most `reach + ROW_SLACK` floats of the padded dy planes.
        assert!(reach + ROW_SLACK <= m * g.oh * lu + SLACK);
        Ok(t)
    }

    /// One input plane's gradient (`dx`, overwritten) from its `m` output planes' gradients `dy`, with the
    /// channel's tap weights in `s.tap_w` (`taps.widx` order).
    fn input_grad_plane(&self, taps: &DxTaps, dy: &[f32], s: &mut Scratch, dx: &mut [f32]) -> Result {
        let (g, m, lu) = (&self.win, self.m, self.lu);
        let rows = m * g.oh;
        error::grow(&mut s.dy, rows * lu + SLACK)?;
        if s.dy_for != Some(*self) {
            // Zero once per geometry (as `phase_buffer`): only the rows' runs are written below.
            s.dy[..rows * lu + SLACK].fill(0.0);
            s.dy_for = Some(*self);
        }
        // Phase rows of the whole plane when sw > 1 (interleaved into dx at the end).
        let phase_len = g.w.div_ceil(g.sw);
        let phase_plane = g.h * phase_len;
        error::grow(&mut s.phase_rows, if g.sw > 1 { g.sw * phase_plane } else { 0 })?;
        // Output-gradient rows at column `shift`, zero around (so every tap reads its whole run).
        for r in 0..rows {
            copy_short(&dy[r * g.ow..(r + 1) * g.ow], &mut s.dy[r * lu + self.shift..][..g.ow]);
        }
        for blk in &taps.blocks {
            let (a, b) = blk.taps;
            let count = taps.phases[blk.q].count;
            // Rows iy, iy + sh, … of dx (or of phase q's rows).
            let (out, pitch) = if g.sw == 1 { (&mut dx[..], g.w) } else { (&mut s.phase_rows[blk.q * phase_plane..(blk.q + 1) * phase_plane], phase_len) };
            let (first, step) = (blk.iy * pitch, g.sh * pitch);
            assert!(count <= pitch && first + (blk.rows - 1) * step + count <= out.len());
            // SAFETY: taps a..b of the weights (gathered per channel) and the table; reads bounded by the
            // table's assert; every output row (asserted) inside out.
            unsafe { f32_dwconv_rows(b - a, s.tap_w[a..b].as_ptr(), s.dy.as_ptr(), taps.off[a..b].as_ptr(), count, blk.rows, lu, 0.0, out.as_mut_ptr().add(first), step) };
        }
        if g.sw > 1 {
            for iy in 0..g.h {
                interleave_phases(&s.phase_rows[iy * phase_len..], phase_plane, &taps.phases, &mut dx[iy * g.w..(iy + 1) * g.w]);
            }
        }
        Ok(())
    }
}

/// The input gradient's taps, the same for every plane (`Depthwise2d::dx_taps`): per block, entries
/// `taps.0 .. taps.1` of `widx` (a weight's index among the channel's `m·kh·kw`) and `off` (its run's
/// start in the padded dy planes, for the block's first row); `phases[q]` is phase q's share of a row.
struct DxTaps {
    blocks: Vec<DxBlock>,
    widx: Vec<usize>,
    off: Vec<usize>,
    phases: Vec<PhaseRun>,
}

/// Input rows `iy, iy + sh, …` (`rows` of them) of column phase q, whose taps are the same weights at
/// offsets one padded dy row (`lu`) further on per row.
struct DxBlock {
    q: usize,
    iy: usize,
    rows: usize,
    taps: (usize, usize),
}

fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> Result<R>) -> Result<R> {
    // Borrowed already only if an earlier call trapped inside (nothing here re-enters).
    SCRATCH.with(|cell| f(&mut *cell.try_borrow_mut().map_err(|_| Error::Trapped)?))
}

/// Phase q's share of an input row (`Depthwise2d::phase_run`).
#[derive(Clone, Copy)]
struct PhaseRun {
    t_lo: usize,
    ix0: usize,
    count: usize,
}

impl PhaseRun {
    /// The run as it fits a phase row of `len` columns.
    fn capped(self, len: usize) -> Self {
        let t_lo = self.t_lo.min(len);
        Self { t_lo, count: self.count.min(len - t_lo), ..self }
    }

}

/// The input row from its phase rows (`phases[q·stride..]`): phase q's element k is input column
/// `runs[q].ix0 + k·sw`.
fn interleave_phases(phases: &[f32], stride: usize, runs: &[PhaseRun], dx: &mut [f32]) {
    let sw = runs.len();
    let mut done = 0;
    if sw == 2 {
        let (qe, qo) = if runs[0].ix0 == 0 { (0, 1) } else { (1, 0) };
        let (e, o) = (&phases[qe * stride..][..runs[qe].count], &phases[qo * stride..][..runs[qo].count]);
        while 2 * done + 8 <= dx.len() {
            // SAFETY: done + 4 <= dx.len() / 2 <= both phases' counts (e's and o's lengths); 2·done + 8 <= dx.len().
            unsafe {
                let (lo, hi) = F32x4::interleave2(F32x4::load(e.as_ptr().add(done)), F32x4::load(o.as_ptr().add(done)));
                lo.store(dx.as_mut_ptr().add(2 * done));
                hi.store(dx.as_mut_ptr().add(2 * done + 4));
            }
            done += 4;
        }
    }
    for (q, run) in runs.iter().enumerate() {
        for k in done..run.count {
            dx[run.ix0 + k * sw] = phases[q * stride + k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::geom::test_window as geom;
    use crate::testutil::{assert_close, check_linear_grads, Rng};

    /// Every tap of the definition: `f(xi, wi, yi)` for input `x[xi]` times weight `w[wi]` into `y[yi]`,
    /// outputs in order and each output's taps in (i, j) order (`None` for a tap in the padding).
    fn for_each_tap(g: &Window, m: usize, mut f: impl FnMut(Option<usize>, usize, usize)) {
        for n in 0..g.n {
            for oc in 0..g.c * m {
                let ci = oc / m;
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let yi = ((n * g.c * m + oc) * g.oh + oy) * g.ow + ox;
                        for i in 0..g.kh {
                            for j in 0..g.kw {
                                let xi = match (g.in_row(oy, i), g.in_col(ox, j)) {
                                    (Some(iy), Some(ix)) => Some(((n * g.c + ci) * g.h + iy) * g.w + ix),
                                    _ => None,
                                };
                                f(xi, (oc * g.kh + i) * g.kw + j, yi);
                            }
                        }
                    }
                }
            }
        }
    }

    fn reference_forward(g: &Window, m: usize, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f64> {
        let opl = g.out_plane();
        let mut y: Vec<f64> = (0..g.n * g.c * m * opl).map(|yi| b[yi / opl % (g.c * m)] as f64).collect();
        for_each_tap(g, m, |xi, wi, yi| {
            if let Some(xi) = xi {
                y[yi] += w[wi] as f64 * x[xi] as f64;
            }
        });
        y
    }

    fn shapes() -> Vec<(Window, usize)> {
        vec![
            (geom(2, 3, 7, 9, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 1),
            (geom(1, 2, 8, 8, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1)), 2),
            (geom(2, 2, 9, 7, 3, 3, (2, 2), (0, 1, 1, 0), (1, 1)), 1), // asymmetric
            (Window::same(2, 3, (8, 8), (3, 3), (2, 2), (1, 1)).unwrap(), 1), // TF 'same', stride 2: pad 0 / 1
            (geom(1, 3, 11, 10, 3, 3, (1, 1), (2, 2, 2, 2), (2, 2)), 1),
            (geom(2, 2, 12, 13, 5, 5, (1, 1), (2, 2, 2, 2), (1, 1)), 1),
            (geom(1, 2, 13, 12, 5, 5, (2, 2), (2, 2, 2, 2), (1, 1)), 3),
            (geom(1, 1, 6, 17, 3, 3, (1, 2), (1, 0, 1, 0), (1, 1)), 2),
            (geom(1, 2, 10, 11, 3, 3, (3, 3), (1, 1, 1, 1), (1, 1)), 1), // stride 3
            (geom(2, 1, 5, 9, 2, 4, (1, 2), (0, 1, 1, 2), (1, 2)), 2),
            (geom(1, 2, 4, 21, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1)), 1),
            (geom(1, 1, 3, 3, 3, 3, (1, 1), (4, 4, 4, 4), (1, 1)), 1), // outputs reading only padding
        ]
    }

    fn data(g: &Window, m: usize, rng: &mut Rng) -> (Depthwise2d, Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
        let dw = Depthwise2d::new(*g, m).unwrap();
        (dw, rng.normal_vec(dw.x_len()), rng.normal_vec(dw.w_len()), rng.normal_vec(g.c * m), rng.normal_vec(dw.y_len()))
    }

    #[test]
    fn forward_matches_definition() {
        let mut rng = Rng::new(41);
        for (g, m) in shapes() {
            let (op, x, w, b, _) = data(&g, m, &mut rng);
            let mut y = vec![f32::NAN; op.y_len()];
            op.forward(&x, &w, Some(&b), &mut y).unwrap();
            let want: Vec<f32> = reference_forward(&g, m, &x, &w, &b).iter().map(|&v| v as f32).collect();
            assert_close(&y, &want, 1e-5 * ((g.kh * g.kw) as f32).sqrt(), &format!("{g:?} m {m}"));
        }
    }

    /// The microkernel tester at the op level: input widths 1..=17 (every SIMD tail of the output and of the
    /// phase split), strides 1 and 2, paddings 0..=2 of a 3×3 kernel, against the definition summed in the
    /// kernel's order (bias, then taps in (i, j) order with padding as zeros), bit for bit.
    #[test]
    fn forward_sweep_equals_scalar_loop_bitwise() {
        let mut rng = Rng::new(42);
        for w in 1..=17 {
            for s in [1, 2] {
                for p in 0..=2 {
                    let Ok(g) = Window::conv(2, 2, (5, w), (3, 3), (s, s), (p, p, p, p), (1, 1)) else { continue };
                    let (op, x, wt, b, _) = data(&g, 2, &mut rng);
                    let mut y = vec![f32::NAN; op.y_len()];
                    op.forward(&x, &wt, Some(&b), &mut y).unwrap();
                    let mut want: Vec<f32> = (0..y.len()).map(|yi| b[yi / g.out_plane() % (g.c * 2)]).collect();
                    for_each_tap(&g, 2, |xi, wi, yi| want[yi] += wt[wi] * xi.map_or(0.0, |xi| x[xi]));
                    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&y), bits(&want), "width {w} stride {s} pad {p}");
                }
            }
        }
    }

    /// dx, dw and db against the definition in f64 on every element, over the shapes and the sweep's widths.
    #[test]
    fn gradients_match_definition() {
        let mut rng = Rng::new(43);
        let mut all = shapes();
        for w in 1..=17 {
            for s in [1, 2] {
                for p in 0..=2 {
                    if let Ok(g) = Window::conv(2, 2, (4, w), (3, 3), (s, s), (p, p, p, p), (1, 1)) {
                        all.push((g, 1 + w % 2));
                    }
                }
            }
        }
        for (g, m) in all {
            let (op, x, w, _, dy) = data(&g, m, &mut rng);
            let (mut dx, mut dw, mut db) = (vec![f32::NAN; x.len()], vec![f32::NAN; w.len()], vec![f32::NAN; g.c * m]);
            op.backward(&x, &w, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
            let (mut want_dx, mut want_dw, mut want_db) = (vec![0.0f64; x.len()], vec![0.0f64; w.len()], vec![0.0f64; db.len()]);
            for (yi, d) in dy.iter().enumerate() {
                want_db[yi / g.out_plane() % (g.c * m)] += *d as f64;
            }
            for_each_tap(&g, m, |xi, wi, yi| {
                if let Some(xi) = xi {
                    want_dx[xi] += dy[yi] as f64 * w[wi] as f64;
                    want_dw[wi] += dy[yi] as f64 * x[xi] as f64;
                }
            });
            let f = |v: Vec<f64>| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
            let what = format!("{g:?} m {m}");
            assert_close(&dx, &f(want_dx), 1e-5 * ((m * g.kh * g.kw) as f32).sqrt(), &format!("dx {what}"));
            assert_close(&dw, &f(want_dw), 1e-5 * ((g.n * g.out_plane()) as f32).sqrt(), &format!("dw {what}"));
            assert_close(&db, &f(want_db), 1e-6 * ((g.n * g.out_plane()) as f32).sqrt(), &format!("db {what}"));
            // Accumulation adds one more copy; no dx asked for leaves dw, db the same.
            let (mut dw2, mut db2) = (dw.clone(), db.clone());
            op.backward(&x, &w, &dy, None, &mut dw2, Some(&mut db2), true).unwrap();
            assert_eq!(dw2, dw.iter().map(|v| v + v).collect::<Vec<_>>(), "accumulated dw {what}");
            assert_eq!(db2, db.iter().map(|v| v + v).collect::<Vec<_>>(), "accumulated db {what}");
        }
    }

    /// Central differences of the f64 definition's L = Σ y·dy against the kernels' gradients.
    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(44);
        for (g, m) in shapes() {
            let (op, x, w, b, dy) = data(&g, m, &mut rng);
            let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; b.len()]);
            op.backward(&x, &w, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
            let loss = |x: &[f32], w: &[f32], b: &[f32]| reference_forward(&g, m, x, w, b).iter().zip(&dy).map(|(y, d)| y * *d as f64).sum::<f64>();
            check_linear_grads(&mut rng, 10, [&x, &w, &b], [&dx, &dw, &db], loss, &format!("{g:?} m {m}"));
        }
    }

    #[test]
    fn refuses_bad_geometry_and_buffers() {
        let g = geom(2, 3, 7, 9, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1));
        assert_eq!(Depthwise2d::new(g, 0), Err(Error::BadGeometry));
        assert_eq!(Depthwise2d::new(Window { oh: 2, ..g }, 1), Err(Error::BadGeometry));
        assert_eq!(Depthwise2d::new(Window { kw: 0, ..g }, 1), Err(Error::BadGeometry));
        assert_eq!(Depthwise2d::new(g, 1 << 29), Err(Error::TooLarge));
        assert_eq!(Depthwise2d::new(Window { n: 1 << 24, ..g }, 1), Err(Error::TooLarge));
        let op = Depthwise2d::new(g, 2).unwrap();
        let (x, w, mut y) = (vec![0.0; op.x_len()], vec![0.0; op.w_len()], vec![0.0; op.y_len()]);
        assert_eq!(op.forward(&x, &w[1..], None, &mut y), Err(Error::BadBuffer));
        assert_eq!(op.forward(&x, &w, Some(&[0.0; 3]), &mut y), Err(Error::BadBuffer));
        let mut dw = vec![0.0; w.len()];
        assert_eq!(op.backward(&x, &w, &y, Some(&mut [0.0; 3]), &mut dw, None, false), Err(Error::BadBuffer));
        assert_eq!(op.forward(&x, &w, None, &mut y), Ok(()));
    }
}
