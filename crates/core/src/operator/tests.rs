//! Operators over a native arena standing in for linear memory: every refusal of issue 11 comes back
//! with its code, field and size, and calls through the io block give the kernels' bits.

use super::*;
use crate::op::geom::test_window;
use crate::op::{activation, conv2d, dense, loss, pool};
use crate::testutil::Rng;

/// A bump allocator over one fixed buffer; address 0 stays unused (it means "absent").
struct Arena {
    buf: Vec<u64>,
    top: usize,
}

impl Arena {
    fn new(bytes: usize) -> Self {
        Self { buf: vec![0; bytes / 8], top: 16 }
    }
    fn mem(&mut self) -> Memory {
        // SAFETY: the buffer is never resized; tests touch it only through the Memory or `get`, never while
        // a call holds slices.
        unsafe { Memory::new(self.buf.as_mut_ptr().expose_provenance(), 8 * self.buf.len() as u64) }
    }
    fn put<T: Copy>(&mut self, v: &[T]) -> u32 {
        let at = self.top;
        let bytes = std::mem::size_of_val(v);
        self.top = (at + bytes).div_ceil(16) * 16 + 16;
        assert!(self.top <= 8 * self.buf.len());
        // SAFETY: [at, at + bytes) lies inside the buffer (asserted).
        unsafe { std::ptr::copy_nonoverlapping(v.as_ptr().cast::<u8>(), self.buf.as_mut_ptr().cast::<u8>().add(at), bytes) };
        at as u32
    }
    fn get<T: Copy + Default>(&self, at: u32, n: usize) -> Vec<T> {
        let mut v = vec![T::default(); n];
        // SAFETY: as in `put`; the caller asks for what it put there.
        unsafe { std::ptr::copy_nonoverlapping(self.buf.as_ptr().cast::<u8>().add(at as usize), v.as_mut_ptr().cast::<u8>(), n * std::mem::size_of::<T>()) };
        v
    }
}

fn make(kind: u32, ints: &[u32]) -> Result<Box<dyn Operator>, Refusal> {
    create(kind, &Desc::new(ints, &[]))
}

fn refusal(kind: u32, ints: &[u32]) -> Refusal {
    make(kind, ints).err().expect("refused")
}

/// conv2d's descriptor for an `n × c × h × w` window built by `test_window`.
fn conv_desc(g: &Window, o: usize, relu: bool) -> Vec<u32> {
    [g.c, g.h, g.w, o, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, g.oh, g.ow, relu as usize].iter().map(|&v| v as u32).collect()
}

#[test]
fn every_size_of_issue_11_is_refused_at_create_with_its_subject_and_bytes() {
    // A dense layer 65536 → 16384 (1.07e9 parameters) and 65536 × 32768.
    let r = refusal(kind::DENSE, &[65536, 16384, 0]);
    assert_eq!((r.error, r.subject, r.bytes), (Error::TooLarge, Subject::Params, 4.0 * 65536.0 * 16384.0));
    assert_eq!(refusal(kind::DENSE, &[65536, 32768, 1]).bytes, 4.0 * 65536.0 * 32768.0);
    // A conv with 1e9 filters: its output sample is refused first.
    let r = refusal(kind::CONV2D, &[3, 8, 8, 1_000_000_000, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8, 0]);
    assert_eq!((r.error, r.subject, r.bytes), (Error::TooLarge, Subject::Output, 4e9 * 64.0));
    let r = refusal(kind::CONV2D, &[30, 1, 1, 100_000_000, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0]);
    assert_eq!((r.error, r.subject, r.bytes), (Error::TooLarge, Subject::Params, 4.0 * 3e9));
    // Padding 16384 on a 1×1 input: with a tall stride the output is small (3 × 32767), but the padded
    // sample the implicit GEMM copies is 32771 × 32769 floats. Stride 1: the output itself is too large.
    let r = refusal(kind::CONV2D, &[1, 1, 1, 1, 3, 3, 16384, 1, 16384, 16384, 1, 1, 3, 32767, 0]);
    assert_eq!((r.error, r.subject, r.field), (Error::TooLarge, Subject::Scratch, 8));
    assert_eq!(r.bytes, 4.0 * (32771.0 * 32769.0 + 8.0));
    let r = refusal(kind::CONV2D, &[1, 1, 1, 1, 3, 3, 1, 1, 16384, 16384, 1, 1, 32767, 32767, 0]);
    assert_eq!((r.error, r.subject, r.bytes), (Error::TooLarge, Subject::Output, 4.0 * 32767.0 * 32767.0));
    // Conv outputs of 2²⁸ … 2³¹ floats per sample: 2²⁸ (1 GiB) fits one buffer, the others do not.
    for log2 in 28..=31u32 {
        let n = 1u32 << log2;
        let got = make(kind::CONV2D, &[1, 1, n, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, n, 0]);
        assert_eq!(got.is_ok(), log2 == 28, "2^{log2} floats");
    }
}

#[test]
fn batch_times_sample_sizes_are_refused_per_call_before_any_buffer_is_read() {
    let mut arena = Arena::new(1 << 12);
    let mem = arena.mem();
    // Padding 8191 on a 1×1 input, 1×1 kernel: 16383² floats per sample (1 GiB) fit; five samples wrap a
    // 32-bit byte count.
    let mut op = make(kind::CONV2D, &[1, 1, 1, 1, 1, 1, 1, 1, 8191, 8191, 1, 1, 16383, 16383, 0]).unwrap();
    let io = Io::from_slots(mem, &[16, 32, 0, 48, 0, 0, 0, 0]);
    let r = op.forward(&io, 5, 0).unwrap_err();
    assert_eq!((r.error, r.subject, r.field, r.bytes), (Error::TooLarge, Subject::Output, -1, 4.0 * 5.0 * 16383.0 * 16383.0));
    // A 1-GiB-per-sample conv output at batch 2.
    let mut op = make(kind::CONV2D, &[1, 1, 1 << 28, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1 << 28, 0]).unwrap();
    assert_eq!(op.forward(&io, 2, 0).unwrap_err().error, Error::TooLarge);
    // The batch of a dense layer: 2²⁸ samples of 4 inputs.
    let mut op = make(kind::DENSE, &[4, 2, 0]).unwrap();
    assert_eq!(op.backward(&io, 1 << 28, flags::ACCUMULATE).unwrap_err().subject, Subject::Input);
}

#[test]
fn bad_descriptors_name_their_field() {
    let ok = [3u32, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8, 0];
    assert!(make(kind::CONV2D, &ok).is_ok());
    let with = |i: usize, v: u32| {
        let mut d = ok;
        d[i] = v;
        refusal(kind::CONV2D, &d)
    };
    assert_eq!((with(6, 0).error, with(6, 0).field), (Error::BadGeometry, 6)); // stride 0
    assert_eq!((with(0, 0).error, with(0, 0).field), (Error::BadGeometry, 0)); // no channels
    assert_eq!((with(13, 10).error, with(13, 10).field), (Error::BadGeometry, 13)); // ow does not follow
    assert_eq!((with(12, 5).error, with(12, 5).field), (Error::BadGeometry, 12)); // oh does not follow
    assert_eq!((with(14, 7).error, with(14, 7).field), (Error::BadDescriptor, 14)); // no activation 7
    assert_eq!(refusal(kind::CONV2D, &ok[..14]).error, Error::BadDescriptor); // too short
    assert_eq!(refusal(99, &ok).error, Error::BadDescriptor); // no such kind
    assert_eq!(create(kind::RELU, &Desc::new(&[4], &[0.5])).err().unwrap().field, 1); // a float field it lacks
    // A pooling window that holds no input element (1 row, 2 taps 2 apart, padding 1): no maximum.
    let r = refusal(kind::MAXPOOL2D, &[1, 1, 4, 2, 1, 1, 1, 1, 0, 2, 1, 1, 4]);
    assert_eq!((r.error, r.field), (Error::BadGeometry, 7));
    // Flags this build does not know.
    let mut arena = Arena::new(1 << 10);
    let mut op = make(kind::RELU, &[4]).unwrap();
    let io = Io::from_slots(arena.mem(), &[16, 32, 0, 0]);
    assert_eq!(op.forward(&io, 1, 1 << 5).unwrap_err().error, Error::BadDescriptor);
}

#[test]
fn buffers_missing_outside_misaligned_or_overlapping_are_refused_by_slot() {
    let mut arena = Arena::new(1 << 12);
    let x = arena.put(&[1.0f32; 16]);
    let w = arena.put(&[1.0f32; 8]);
    let y = arena.put(&[0.0f32; 4]);
    let mem = arena.mem();
    let mut op = make(kind::DENSE, &[4, 2, 0]).unwrap(); // batch 2: x 8 floats, y 4
    let slot = |s: &[u32]| Io::from_slots(mem, s);
    let field = |op: &mut Box<dyn Operator>, s: &[u32]| {
        let r = op.forward(&slot(s), 2, 0).unwrap_err();
        assert_eq!(r.error, Error::BadBuffer);
        r.field
    };
    assert!(op.forward(&slot(&[x, w, 0, y]), 2, 0).is_ok());
    assert_eq!(field(&mut op, &[x, w, 0, 0]), 3); // no y
    assert_eq!(field(&mut op, &[x, 4090, 0, y]), 1); // weight past the end of memory
    assert_eq!(field(&mut op, &[x, w + 2, 0, y]), 1); // misaligned
    assert_eq!(field(&mut op, &[x, w, 0, x + 8]), 3); // y overlaps x
    assert_eq!(field(&mut op, &[x, w, 4092, y]), 2); // a bias of 2 floats at the last 4 bytes
    assert!(op.forward(&slot(&[x, w, w, y]), 2, 0).is_ok()); // inputs may share bytes
    assert!(Io::new(mem, 4094, 8).is_err()); // the io block itself outside memory
}

/// A small network's every operator through the io block, after refusals: the bits of the kernels.
#[test]
fn calls_through_the_io_block_give_the_kernels_bits() {
    let _ = refusal(kind::CONV2D, &[1, 1, 1, 1, 3, 3, 16384, 1, 16384, 16384, 1, 1, 3, 32767, 0]);
    let mut rng = Rng::new(31);
    let mut arena = Arena::new(1 << 20);
    let (b, o, classes) = (3usize, 4usize, 5usize);
    let g = test_window(b, 2, 6, 7, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1));
    let gp = test_window(b, o, g.oh, g.ow, 2, 2, (2, 2), (0, 0, 0, 0), (1, 1));
    let (xs, ys, ps) = (g.c * g.in_plane(), o * g.out_plane(), o * gp.out_plane());
    let x = rng.normal_vec(b * xs);
    let (wc, bc) = (rng.normal_vec(o * g.col_rows()), rng.normal_vec(o));
    let (wd, bd) = (rng.normal_vec(classes * ps), rng.normal_vec(classes));
    let labels: Vec<u32> = (0..b as u32).map(|i| i % classes as u32).collect();

    // The reference: the kernels called directly (conv with fused ReLU).
    let mut y1 = vec![0.0; b * ys];
    conv2d::conv2d_forward(&g, o, &x, &wc, Some(&bc), true, &mut y1).unwrap();
    let (mut p1, mut am) = (vec![0.0; b * ps], vec![0u32; b * ps]);
    pool::maxpool2d_forward(&gp, &y1, &mut p1, &mut am).unwrap();
    let mut z = vec![0.0; b * classes];
    dense::dense_forward(b, ps, classes, &p1, &wd, Some(&bd), false, &mut z).unwrap();
    let mut dz = vec![0.0; z.len()];
    let want_loss = loss::softmax_cross_entropy(b, classes, &z, &labels, Some(&mut dz)).unwrap();
    let (mut dp1, mut dwd, mut dbd) = (vec![0.0; p1.len()], vec![0.0; wd.len()], vec![0.0; classes]);
    dense::dense_backward(b, ps, classes, &p1, &wd, None, &dz, Some(&mut dp1), &mut dwd, Some(&mut dbd), false).unwrap();
    let mut dy1 = vec![0.0; y1.len()];
    pool::maxpool2d_backward(&gp, &dp1, &am, &mut dy1).unwrap();
    let (mut dx, mut dwc, mut dbc) = (vec![0.0; x.len()], vec![0.0; wc.len()], vec![0.0; o]);
    conv2d::conv2d_backward(&g, o, &x, &wc, Some(&y1), &dy1, Some(&mut dx), &mut dwc, Some(&mut dbc), false).unwrap();
    let mut r = vec![0.0; x.len()];
    activation::relu_forward(&x, &mut r).unwrap();
    let mut dr = vec![0.0; x.len()];
    activation::relu_backward(&r, &dx, &mut dr).unwrap();

    // The same through operators.
    let zeros = |a: &mut Arena, n: usize| a.put(&vec![0.0f32; n]);
    let ax = arena.put(&x);
    let (awc, abc, awd, abd) = (arena.put(&wc), arena.put(&bc), arena.put(&wd), arena.put(&bd));
    let alab = arena.put(&labels);
    let (ay1, ap1, aam, az, adz) = (zeros(&mut arena, y1.len()), zeros(&mut arena, p1.len()), zeros(&mut arena, am.len()), zeros(&mut arena, z.len()), zeros(&mut arena, z.len()));
    let aloss = arena.put(&[0.0f64]);
    let (adp1, adwd, adbd, ady1) = (zeros(&mut arena, p1.len()), zeros(&mut arena, wd.len()), zeros(&mut arena, classes), zeros(&mut arena, y1.len()));
    let (adx, adwc, adbc, ar, adr) = (zeros(&mut arena, x.len()), zeros(&mut arena, wc.len()), zeros(&mut arena, o), zeros(&mut arena, x.len()), zeros(&mut arena, x.len()));
    let mem = arena.mem();
    let io = |s: &[u32]| Io::from_slots(mem, s);
    let mut conv = make(kind::CONV2D, &conv_desc(&g, o, true)).unwrap();
    let pd = conv_desc(&gp, 0, false);
    let mut mp = make(kind::MAXPOOL2D, &[&pd[..3], &pd[4..14]].concat()).unwrap();
    let mut fc = make(kind::DENSE, &[ps as u32, classes as u32, 0]).unwrap();
    let mut ce = make(kind::SOFTMAX_CROSS_ENTROPY, &[classes as u32]).unwrap();
    let mut relu = make(kind::RELU, &[xs as u32]).unwrap();
    let t = flags::TRAIN;
    conv.forward(&io(&[ax, awc, abc, ay1, 0, 0, 0, 0]), b, t).unwrap();
    mp.forward(&io(&[ay1, ap1, aam, 0, 0]), b, t).unwrap();
    fc.forward(&io(&[ap1, awd, abd, az, 0, 0, 0, 0]), b, t).unwrap();
    ce.forward(&io(&[az, alab, adz, aloss]), b, t).unwrap();
    ce.backward(&io(&[]), b, t).unwrap();
    fc.backward(&io(&[ap1, awd, 0, az, adz, adp1, adwd, adbd]), b, t).unwrap();
    mp.backward(&io(&[0, 0, aam, adp1, ady1]), b, t).unwrap();
    conv.backward(&io(&[ax, awc, 0, ay1, ady1, adx, adwc, adbc]), b, t).unwrap();
    relu.forward(&io(&[ax, ar, 0, 0]), b, t).unwrap();
    relu.backward(&io(&[0, ar, adx, adr]), b, t).unwrap();

    assert_eq!(arena.get::<f32>(ay1, y1.len()), y1);
    assert_eq!(arena.get::<f32>(ap1, p1.len()), p1);
    assert_eq!(arena.get::<u32>(aam, am.len()), am);
    assert_eq!(arena.get::<f32>(az, z.len()), z);
    assert_eq!(arena.get::<f64>(aloss, 1)[0], want_loss);
    assert_eq!(arena.get::<f32>(adz, z.len()), dz);
    assert_eq!((arena.get::<f32>(adp1, p1.len()), arena.get::<f32>(adwd, wd.len()), arena.get::<f32>(adbd, classes)), (dp1, dwd.clone(), dbd));
    assert_eq!(arena.get::<f32>(ady1, y1.len()), dy1);
    assert_eq!((arena.get::<f32>(adx, x.len()), arena.get::<f32>(adwc, wc.len()), arena.get::<f32>(adbc, o)), (dx, dwc, dbc));
    assert_eq!((arena.get::<f32>(ar, x.len()), arena.get::<f32>(adr, x.len())), (r, dr));
    // Accumulation adds one more copy of the parameter gradients.
    fc.backward(&io(&[ap1, awd, 0, az, adz, 0, adwd, 0]), b, flags::ACCUMULATE).unwrap();
    assert_eq!(arena.get::<f32>(adwd, wd.len()), dwd.iter().map(|v| v + v).collect::<Vec<_>>());
    // A label out of range is a refusal, and the loss is left as it was.
    let bad = arena.put(&[0u32, 9, 1]);
    let io2 = Io::from_slots(arena.mem(), &[az, bad, 0, aloss]);
    assert_eq!(ce.forward(&io2, b, 0).unwrap_err().error, Error::BadValue);
    assert_eq!(arena.get::<f64>(aloss, 1)[0], want_loss);
}

fn make_f(kind: u32, ints: &[u32], floats: &[f64]) -> Result<Box<dyn Operator>, Refusal> {
    create(kind, &Desc::new(ints, floats))
}

/// A valid descriptor of every issue-13 operator (ints, floats), for the refusal and fuzz tests below.
fn issue13_descriptors() -> Vec<(u32, Vec<u32>, Vec<f64>)> {
    vec![
        (kind::BATCH_NORM, vec![3, 4, 1, 1, 1, 0], vec![1e-5, 0.1]),
        (kind::LAYER_NORM, vec![2, 6, 1], vec![1e-5]),
        (kind::GROUP_NORM, vec![4, 3, 2, 1], vec![1e-5]),
        (kind::DROPOUT, vec![12, 3, 7, 9], vec![0.25]),
        (kind::ACTIVATION, vec![10, 3], vec![1.0]),
        (kind::ADD, vec![8, 1], vec![]),
        (kind::CONCAT, vec![4, 3, 1, 2, 3], vec![]),
        (kind::GATE, vec![3, 4], vec![]),
        (kind::CONV2D, vec![4, 5, 5, 8, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5, 1, 2], vec![]),
        (kind::CONV2D, vec![4, 5, 5, 8, 3, 3, 2, 2, 1, 1, 1, 1, 3, 3, 0, 4], vec![]),
        (kind::CONV_TRANSPOSE2D, vec![4, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1, 6, 6, 2], vec![]),
        (kind::AVG_POOL2D, vec![2, 5, 5, 3, 3, 2, 2, 1, 1, 3, 3, 1, 0, 0], vec![]),
        (kind::ADAPTIVE_POOL2D, vec![2, 5, 7, 2, 3, 1], vec![]),
        (kind::CROSS_ENTROPY, vec![5, 0, 0, 1, (-100i32) as u32], vec![0.1]),
        (kind::BCE_WITH_LOGITS, vec![4, 1, 1, 1], vec![]),
        (kind::REGRESSION, vec![6, 2, 0], vec![0.75]),
    ]
}

#[test]
fn issue_13_operators_refuse_bad_descriptors_naming_the_field() {
    for (k, ints, floats) in issue13_descriptors() {
        assert!(make_f(k, &ints, &floats).is_ok(), "kind {k} {ints:?}");
        // Too short or too long in either part.
        assert_eq!(make_f(k, &ints[..ints.len() - 1], &floats).err().map(|r| r.error), if k == kind::CONV2D { None } else { Some(Error::BadDescriptor) }, "kind {k} short");
        let mut long = ints.clone();
        long.extend([1, 1]);
        assert!(make_f(k, &long, &floats).is_err(), "kind {k} long");
        let mut fl = floats.clone();
        fl.push(0.0);
        assert_eq!(make_f(k, &ints, &fl).err().unwrap().error, Error::BadDescriptor, "kind {k} extra float");
        // A zero first size.
        let mut z = ints.clone();
        z[0] = 0;
        assert_eq!(make_f(k, &z, &floats).err().unwrap().field, 0, "kind {k} zero size");
        // Non-finite floats.
        for (j, _) in floats.iter().enumerate() {
            let mut f = floats.clone();
            f[j] = f64::NAN;
            assert_eq!(make_f(k, &ints, &f).err().unwrap().field as usize, ints.len() + j, "kind {k} NaN float {j}");
        }
    }
    let f = |k, i: &[u32], fl: &[f64]| make_f(k, i, fl).err().unwrap_or_else(|| panic!("kind {k} {i:?} {fl:?} was accepted"));
    // BatchNorm: eps 0 (a constant channel divides by zero), momentum > 1, a choice beyond its range.
    assert_eq!(f(kind::BATCH_NORM, &[3, 4, 1, 1, 0, 0], &[0.0, 0.1]).field, 6);
    assert_eq!(f(kind::BATCH_NORM, &[3, 4, 1, 1, 0, 0], &[1e-5, 1.5]).field, 7);
    assert_eq!(f(kind::BATCH_NORM, &[3, 4, 2, 1, 0, 0], &[1e-5, 0.1]).field, 2);
    // GroupNorm groups not dividing the channels; dropout units not dividing the sample; p > 1.
    assert_eq!((f(kind::GROUP_NORM, &[4, 3, 3, 1], &[1e-5]).error, f(kind::GROUP_NORM, &[4, 3, 3, 1], &[1e-5]).field), (Error::BadGeometry, 2));
    assert_eq!(f(kind::DROPOUT, &[12, 5, 0, 0], &[0.5]).field, 1);
    assert_eq!(f(kind::DROPOUT, &[12, 1, 0, 0], &[1.5]).field, 4);
    // An activation kind this build does not know.
    assert_eq!(f(kind::ACTIVATION, &[4, 11], &[0.0]).field, 1);
    // Concat: more inputs than an io block holds, a zero-channel input.
    assert_eq!(f(kind::CONCAT, &[4, 8, 1, 1, 1, 1, 1, 1, 1, 1], &[]).field, 1);
    assert_eq!(f(kind::CONCAT, &[4, 2, 1, 0], &[]).field, 3);
    // Conv groups not dividing the channels or filters.
    assert_eq!(f(kind::CONV2D, &[4, 5, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5, 0, 4], &[]).field, 15);
    // A transposed conv whose output reaches the stride past the full output (7 rows, 1 cropped on top: 8
    // of them may be 7 + 1, not 9).
    assert_eq!(f(kind::CONV_TRANSPOSE2D, &[4, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1, 8, 6, 2], &[]).field, 12);
    // Average pooling: an output size that does not follow, padding above half the kernel.
    assert_eq!(f(kind::AVG_POOL2D, &[2, 5, 5, 3, 3, 2, 2, 1, 1, 2, 3, 1, 0, 0], &[]).field, 9);
    assert_eq!(f(kind::AVG_POOL2D, &[2, 5, 5, 3, 3, 2, 2, 2, 1, 3, 3, 1, 0, 0], &[]).error, Error::BadGeometry);
    // Losses: smoothing > 1, Huber's δ = 0, an unknown reduction.
    assert_eq!(f(kind::CROSS_ENTROPY, &[5, 0, 0, 0, 0], &[1.5]).field, 5);
    assert_eq!(f(kind::REGRESSION, &[6, 2, 0], &[0.0]).field, 3);
    assert_eq!(f(kind::BCE_WITH_LOGITS, &[6, 2, 0, 0], &[]).field, 1);
    // Sizes beyond wasm32: a 2³¹-value norm sample, a concat of 2 × 2³⁰ channels.
    assert_eq!(f(kind::LAYER_NORM, &[1 << 16, 1 << 15, 0], &[1e-5]).error, Error::TooLarge);
    assert_eq!(f(kind::CONCAT, &[1, 2, 1 << 30, 1 << 30], &[]).error, Error::TooLarge);
}

/// Random descriptors and io blocks for every operator: each create or call is `Ok` or a refusal, never a
/// panic (a trap in wasm), and every refusal has a known code.
#[test]
fn random_descriptors_and_io_blocks_never_panic() {
    let mut rng = Rng::new(1313);
    let mut arena = Arena::new(1 << 16);
    let filled = arena.put(&vec![0.5f32; 4096]);
    let mem = arena.mem();
    let values = [0u32, 1, 2, 3, 5, 8, 16, 0xffff_ff9c, 1 << 16, 1 << 30, u32::MAX];
    let floats = [0.0, 1e-5, 0.1, 0.5, 1.0, 2.0, -1.0, 1e300, f64::NAN];
    let mut created = 0;
    for _ in 0..20_000 {
        let k = 1 + rng.below(19) as u32;
        let base = issue13_descriptors().into_iter().find(|d| d.0 == k);
        let (mut ints, mut fl) = base.map(|d| (d.1, d.2)).unwrap_or_else(|| (vec![1; 15], vec![]));
        // Mutate a few fields (or the lengths) of a valid descriptor.
        for _ in 0..1 + rng.below(3) {
            match rng.below(6) {
                0 => ints.truncate(rng.below(ints.len() + 1)),
                1 => ints.push(values[rng.below(values.len())]),
                2 if !fl.is_empty() => {
                    let j = rng.below(fl.len());
                    fl[j] = floats[rng.below(floats.len())];
                }
                _ if !ints.is_empty() => {
                    let i = rng.below(ints.len());
                    ints[i] = if rng.below(2) == 0 { values[rng.below(values.len())] } else { ints[i].wrapping_add(1) };
                }
                _ => {}
            }
        }
        let Ok(mut op) = make_f(k, &ints, &fl) else { continue };
        created += 1;
        for _ in 0..4 {
            let slots: Vec<u32> = (0..op.slots()).map(|_| match rng.below(4) {
                0 => 0,
                1 => filled + 4 * rng.below(64) as u32,
                2 => (1 << 16) - 4 * rng.below(8) as u32,
                _ => 16 + rng.below(1 << 16) as u32,
            }).collect();
            let io = Io::from_slots(mem, &slots);
            let batch = [0, 1, 2, 7, 1 << 20][rng.below(5)];
            let flags = [0, flags::TRAIN, flags::ACCUMULATE | flags::TRAIN, 1 << 7][rng.below(4)];
            for r in [op.forward(&io, batch, flags), op.backward(&Io::from_slots(mem, &slots), batch, flags)] {
                if let Err(r) = r {
                    assert!(Error::from_code(r.error.code()).is_some());
                }
            }
        }
    }
    assert!(created > 2000, "only {created} descriptors were valid");
}

/// BatchNorm through the io block: the kernel's bits, and num_batches_tracked kept as one f32 in the
/// model's buffers (converted to the kernel's count around the call).
#[test]
fn batch_norm_keeps_its_count_as_an_f32_and_gives_the_kernels_bits() {
    use crate::op::norm::batchnorm::{BatchNorm, BatchNormConfig, Running};
    use crate::op::norm::{Affine, StatsOut};
    let mut rng = Rng::new(6);
    let (b, c, inner) = (3usize, 2usize, 5usize);
    let (x, w, bias) = (rng.normal_vec(b * c * inner), rng.normal_vec(c), rng.normal_vec(c));
    let cfg = BatchNormConfig { momentum: None, relu: true, ..Default::default() };
    let k = BatchNorm::new(b, c, inner, cfg).unwrap();
    let (mut rm, mut rv, mut t) = (vec![0.0f32; c], vec![1.0f32; c], 41i64);
    let (mut mean, mut rstd, mut y) = (vec![0.0; c], vec![0.0; c], vec![0.0; x.len()]);
    k.forward(true, &x, Affine { weight: Some(&w), bias: Some(&bias) }, Some(Running { mean: &mut rm, var: &mut rv, batches_tracked: &mut t }), StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();

    let mut arena = Arena::new(1 << 14);
    let (ax, aw, ab) = (arena.put(&x), arena.put(&w), arena.put(&bias));
    let (arm, arv, at) = (arena.put(&[0.0f32; 2]), arena.put(&[1.0f32; 2]), arena.put(&[41.0f32]));
    let (ay, amean, arstd) = (arena.put(&vec![0.0f32; x.len()]), arena.put(&[0.0f32; 2]), arena.put(&[0.0f32; 2]));
    let mut op = make_f(kind::BATCH_NORM, &[c as u32, inner as u32, 1, 1, 1, 1], &[1e-5, 0.1]).unwrap();
    let slots = [ax, aw, ab, arm, arv, at, ay, amean, arstd, 0, 0, 0, 0];
    op.forward(&Io::from_slots(arena.mem(), &slots), b, flags::TRAIN).unwrap();
    assert_eq!(arena.get::<f32>(ay, y.len()), y);
    assert_eq!((arena.get::<f32>(arm, c), arena.get::<f32>(arv, c)), (rm, rv));
    assert_eq!(arena.get::<f32>(at, 1), vec![42.0]);
    // A count that is not a non-negative integer is refused before anything is written.
    let bad = arena.put(&[2.5f32]);
    let mut slots2 = slots;
    slots2[5] = bad;
    let r = op.forward(&Io::from_slots(arena.mem(), &slots2), b, flags::TRAIN).unwrap_err();
    assert_eq!((r.error, r.field), (Error::BadValue, 5));
    // One value per channel in training, as PyTorch refuses it.
    let mut one = make_f(kind::BATCH_NORM, &[c as u32, 1, 1, 1, 0, 0], &[1e-5, 0.1]).unwrap();
    assert_eq!(one.forward(&Io::from_slots(arena.mem(), &slots), 1, flags::TRAIN).unwrap_err().error, Error::BadGeometry);
}
