//! Distance kernels against the scalar reference, at 384 and 1536 dimensions.
//!
//! `cargo bench --bench kernels` prints criterion's time per call (one distance
//! between two vectors) for our kernels on every instruction set this CPU has
//! (`portable`, `avx2`, `avx512`), for simsimd's kernels on the same instruction sets
//! (`simsimd-…`, squared L2 and inner product), and for the f64 scalar reference in
//! `src/distance/scalar.rs`. The groups `half_*` time the same on `halfvec` elements
//! (IEEE binary16, simsimd's f16 kernels beside ours), `hamming` and `jaccard` on bit
//! strings of 384, 1536 and 3072 bits (simsimd's `b8` kernels beside ours), and
//! `sparse_*` the sparse kernels (each table's: the merge walk, AVX-512's blocks) on
//! pairs of 30, 150 and 1000 stored elements out of 30,000 dimensions, a tenth of them
//! shared (simsimd's sparse kernels take 16-bit indices only: none beside them).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use pgvec_hnsw::distance::simsimd::{Simsimd, SimsimdBits, SimsimdHalf};
use pgvec_hnsw::distance::{scalar, Isa, Kernels};
use pgvec_hnsw::types::half::Half;
use rand::{Rng, SeedableRng};
use std::hint::black_box;

fn vectors(n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(n as u64);
    let mut v = || {
        (0..n)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect::<Vec<_>>()
    };
    (v(), v())
}

type Kernel = Box<dyn Fn(&[f32], &[f32]) -> f64>;

fn candidates(metric: &str) -> Vec<(String, Kernel)> {
    let mut out: Vec<(String, Kernel)> = Vec::new();
    let reference: fn(&[f32], &[f32]) -> f64 = match metric {
        "l2_squared" => scalar::l2_squared,
        "inner_product" => scalar::inner_product,
        "cosine" => scalar::cosine_distance,
        _ => scalar::l1_distance,
    };
    out.push(("scalar-reference".into(), Box::new(reference)));
    for k in Isa::ALL.into_iter().filter_map(Kernels::for_isa) {
        let f: Kernel = match metric {
            "l2_squared" => Box::new(move |a, b| k.l2_squared(a, b)),
            "inner_product" => Box::new(move |a, b| k.inner_product(a, b)),
            "cosine" => Box::new(move |a, b| k.cosine_distance(a, b)),
            _ => Box::new(move |a, b| k.l1_distance(a, b)),
        };
        out.push((k.isa().name().into(), f));
        if let Some(s) = Simsimd::for_isa(k.isa()) {
            let f: Option<Kernel> = match metric {
                "l2_squared" => Some(Box::new(move |a, b| s.l2_squared(a, b))),
                "inner_product" => Some(Box::new(move |a, b| s.inner_product(a, b))),
                _ => None,
            };
            if let Some(f) = f {
                out.push((format!("simsimd-{}", k.isa().name()), f));
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    for metric in ["l2_squared", "inner_product", "cosine", "l1"] {
        let mut group = c.benchmark_group(metric);
        for dims in [384usize, 1536] {
            let (a, b) = vectors(dims);
            for (name, f) in candidates(metric) {
                group.bench_with_input(BenchmarkId::new(name, dims), &dims, |bench, _| {
                    bench.iter(|| f(black_box(&a), black_box(&b)))
                });
            }
        }
        group.finish();
    }
}

type HalfKernel = Box<dyn Fn(&[Half], &[Half]) -> f64>;

fn half_candidates(metric: &str) -> Vec<(String, HalfKernel)> {
    let mut out: Vec<(String, HalfKernel)> = Vec::new();
    for k in Isa::ALL.into_iter().filter_map(Kernels::for_isa) {
        let f: HalfKernel = match metric {
            "half_l2_squared" => Box::new(move |a, b| k.l2_squared_half(a, b)),
            "half_inner_product" => Box::new(move |a, b| k.inner_product_half(a, b)),
            _ => Box::new(move |a, b| k.l1_distance_half(a, b)),
        };
        out.push((k.isa().name().into(), f));
        if let Some(s) = SimsimdHalf::for_isa(k.isa()) {
            let f: Option<HalfKernel> = match metric {
                "half_l2_squared" => Some(Box::new(move |a, b| s.l2_squared(a, b))),
                "half_inner_product" => Some(Box::new(move |a, b| s.inner_product(a, b))),
                _ => None,
            };
            if let Some(f) = f {
                out.push((format!("simsimd-{}", k.isa().name()), f));
            }
        }
    }
    out
}

fn bench_half(c: &mut Criterion) {
    for metric in ["half_l2_squared", "half_inner_product", "half_l1"] {
        let mut group = c.benchmark_group(metric);
        for dims in [384usize, 1536] {
            let (a, b) = vectors(dims);
            let half = |v: &[f32]| v.iter().map(|&x| Half::from_f32(x)).collect::<Vec<_>>();
            let (a, b) = (half(&a), half(&b));
            for (name, f) in half_candidates(metric) {
                group.bench_with_input(BenchmarkId::new(name, dims), &dims, |bench, _| {
                    bench.iter(|| f(black_box(&a), black_box(&b)))
                });
            }
        }
        group.finish();
    }
}

type BitKernel = Box<dyn Fn(&[u8], &[u8]) -> f64>;

fn bench_bits(c: &mut Criterion) {
    for metric in ["hamming", "jaccard"] {
        let mut group = c.benchmark_group(metric);
        for bits in [384usize, 1536, 3072] {
            let mut rng = rand::rngs::StdRng::seed_from_u64(bits as u64);
            let a: Vec<u8> = (0..bits / 8).map(|_| rng.random()).collect();
            let b: Vec<u8> = (0..bits / 8).map(|_| rng.random()).collect();
            let mut candidates: Vec<(String, BitKernel)> = Vec::new();
            for k in Isa::ALL.into_iter().filter_map(Kernels::for_isa) {
                let f: BitKernel = if metric == "hamming" {
                    Box::new(move |a, b| k.hamming(a, b) as f64)
                } else {
                    Box::new(move |a, b| k.jaccard(a, b))
                };
                candidates.push((k.isa().name().into(), f));
                if metric == "jaccard" && k.isa() == Isa::Avx2 {
                    // The table's avx2 Jaccard is simsimd's; ours, measured beside it.
                    if let Some(ours) = pgvec_hnsw::distance::bits::jaccard_popcnt_kernel() {
                        candidates.push(("avx2-ours-popcnt".into(), Box::new(ours)));
                    }
                }
                if let Some(s) = SimsimdBits::for_isa(k.isa()) {
                    let f: BitKernel = if metric == "hamming" {
                        Box::new(move |a, b| s.hamming(a, b))
                    } else {
                        Box::new(move |a, b| s.jaccard(a, b))
                    };
                    candidates.push((format!("simsimd-{}", k.isa().name()), f));
                }
            }
            for (name, f) in candidates {
                group.bench_with_input(BenchmarkId::new(name, bits), &bits, |bench, _| {
                    bench.iter(|| f(black_box(&a), black_box(&b)))
                });
            }
        }
        group.finish();
    }
}

/// A sparse vector's indices and values.
type OwnedSparse = (Vec<i32>, Vec<f32>);

/// Two sparse vectors of `nnz` stored elements each, `nnz / 10` of them shared, over
/// 30,000 dimensions.
fn sparse_pair(nnz: usize) -> (OwnedSparse, OwnedSparse) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(nnz as u64);
    let shared: Vec<i32> = (0..nnz / 10).map(|_| rng.random_range(0..30_000)).collect();
    let mut one = || {
        let mut idx: Vec<i32> = shared.clone();
        while idx.len() < nnz {
            idx.push(rng.random_range(0..30_000));
            idx.sort_unstable();
            idx.dedup();
        }
        let val: Vec<f32> = idx.iter().map(|_| rng.random_range(0.0f32..1.0)).collect();
        (idx, val)
    };
    (one(), one())
}

fn bench_sparse(c: &mut Criterion) {
    for metric in ["l2_squared", "inner_product", "l1"] {
        let mut group = c.benchmark_group(format!("sparse_{metric}"));
        for nnz in [30usize, 150, 1000] {
            let (a, b) = sparse_pair(nnz);
            for k in Isa::ALL.into_iter().filter_map(Kernels::for_isa) {
                let f = move |x, y| match metric {
                    "l2_squared" => k.sparse_l2_squared(x, y),
                    "inner_product" => k.sparse_inner_product(x, y),
                    _ => k.sparse_l1_distance(x, y),
                };
                group.bench_with_input(BenchmarkId::new(k.isa().name(), nnz), &nnz, |bench, _| {
                    bench.iter(|| {
                        f(
                            black_box((&a.0[..], &a.1[..])),
                            black_box((&b.0[..], &b.1[..])),
                        )
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = kernels;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_millis(800));
    targets = bench, bench_half, bench_bits, bench_sparse
}
criterion_main!(kernels);
