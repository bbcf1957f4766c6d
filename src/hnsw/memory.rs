//! A plain in-memory graph: the reference the core's tests build and search (the
//! index build itself uses `storage::shared_graph`, which can be shared between
//! processes).
//!
//! Elements are numbered densely (`u32`) in insertion order. Every structure is a flat
//! vector, grown in bounded steps, so [`MemoryGraph::bytes`] (the sum of their
//! capacities) is the exact heap memory the graph holds, and the build can compare it
//! with `maintenance_work_mem` before each insert.

use super::{Graph, GraphMut, Metric, Params};

const NONE: u32 = u32::MAX;

/// An HNSW graph held in memory: vectors, levels and neighbour lists.
pub struct MemoryGraph {
    dim: usize,
    metric: Metric,
    params: Params,
    /// `len × dim` floats, element `i` at `i·dim`.
    vectors: Vec<f32>,
    levels: Vec<u8>,
    /// Layer 0: `2·m` slots per element; `layer0_len[i]` of them used.
    layer0: Vec<u32>,
    layer0_len: Vec<u8>,
    /// Layers ≥ 1: `m` slots per layer, element `i`'s block starts at `upper_start[i]`.
    upper_start: Vec<u32>,
    upper: Vec<u32>,
    upper_len: Vec<u8>,
    entry: Option<(u32, usize)>,
}

/// Grows `v` so it can hold `extra` more items, by at most an eighth of its length at a
/// time (not doubling), so capacity never overshoots what is used by much.
fn reserve<T>(v: &mut Vec<T>, extra: usize) {
    if v.capacity() - v.len() < extra {
        v.reserve_exact(extra.max(v.len() / 8).max(64));
    }
}

impl MemoryGraph {
    /// An empty graph of `dim`-dimensional vectors.
    pub fn new(dim: usize, metric: Metric, params: Params) -> MemoryGraph {
        MemoryGraph {
            dim,
            metric,
            params,
            vectors: Vec::new(),
            levels: Vec::new(),
            layer0: Vec::new(),
            layer0_len: Vec::new(),
            upper_start: Vec::new(),
            upper: Vec::new(),
            upper_len: Vec::new(),
            entry: None,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// `true` when the graph has no element.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Bytes of heap memory held (the capacities of all vectors).
    pub fn bytes(&self) -> usize {
        fn cap<T>(v: &Vec<T>) -> usize {
            v.capacity() * std::mem::size_of::<T>()
        }
        cap(&self.vectors)
            + cap(&self.levels)
            + cap(&self.layer0)
            + cap(&self.layer0_len)
            + cap(&self.upper_start)
            + cap(&self.upper)
            + cap(&self.upper_len)
    }

    /// Bytes one element of `level` takes once stored (vector and link slots), not
    /// counting spare capacity.
    pub fn element_bytes(dim: usize, m: usize, level: usize) -> usize {
        dim * 4 + 1 + 2 * m * 4 + 1 + 4 + level * (m * 4 + 1)
    }

    /// Adds an element with no links yet; returns its id.
    pub fn push(&mut self, vector: &[f32], level: usize) -> u32 {
        assert_eq!(vector.len(), self.dim);
        let id = self.levels.len() as u32;
        let (m, m0) = (self.params.m, self.params.max_links(0));
        reserve(&mut self.vectors, self.dim);
        self.vectors.extend_from_slice(vector);
        reserve(&mut self.levels, 1);
        self.levels.push(level as u8);
        reserve(&mut self.layer0, m0);
        self.layer0.extend(std::iter::repeat_n(NONE, m0));
        reserve(&mut self.layer0_len, 1);
        self.layer0_len.push(0);
        reserve(&mut self.upper_start, 1);
        if level == 0 {
            self.upper_start.push(NONE);
        } else {
            self.upper_start.push(self.upper.len() as u32);
            reserve(&mut self.upper, level * m);
            self.upper.extend(std::iter::repeat_n(NONE, level * m));
            reserve(&mut self.upper_len, level);
            self.upper_len.extend(std::iter::repeat_n(0, level));
        }
        id
    }

    /// The stored vector of element `id`.
    pub fn vector(&self, id: u32) -> &[f32] {
        let start = id as usize * self.dim;
        &self.vectors[start..start + self.dim]
    }

    /// The level of element `id`.
    pub fn level(&self, id: u32) -> usize {
        self.levels[id as usize] as usize
    }

    /// The neighbours of `id` on `layer` (empty above its level).
    pub fn links(&self, id: u32, layer: usize) -> &[u32] {
        let i = id as usize;
        if layer == 0 {
            let m0 = self.params.max_links(0);
            &self.layer0[i * m0..i * m0 + self.layer0_len[i] as usize]
        } else if layer <= self.levels[i] as usize {
            let m = self.params.m;
            let block = self.upper_start[i] as usize / m; // first layer-1 block of i
            let slot = block + layer - 1;
            &self.upper[slot * m..slot * m + self.upper_len[slot] as usize]
        } else {
            &[]
        }
    }

    /// The entry point and its level.
    pub fn entry(&self) -> Option<(u32, usize)> {
        self.entry
    }

    /// The parameters of the graph.
    pub fn params(&self) -> Params {
        self.params
    }
}

impl Graph for MemoryGraph {
    type Id = u32;

    #[inline]
    fn distance(&mut self, query: &[f32], id: u32) -> f32 {
        self.metric.distance(query, self.vector(id))
    }

    #[inline]
    fn distance_between(&mut self, a: u32, b: u32) -> f32 {
        self.metric.distance(self.vector(a), self.vector(b))
    }

    /// Prefetches the vector after next while measuring one.
    fn distances(&mut self, query: &[f32], ids: &[u32], out: &mut Vec<f32>) {
        let g = &*self;
        g.metric
            .distances_prefetched(query, ids, |id| g.vector(id), out);
    }

    fn neighbours(&mut self, id: u32, layer: usize, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(self.links(id, layer));
    }

    fn metric(&self) -> Metric {
        self.metric
    }
}

impl GraphMut for MemoryGraph {
    fn entry_point(&mut self) -> Option<(u32, usize)> {
        self.entry
    }

    fn set_entry_point(&mut self, id: u32, level: usize) {
        self.entry = Some((id, level));
    }

    fn set_neighbours(&mut self, id: u32, layer: usize, neighbours: &[u32]) {
        let i = id as usize;
        let (slots, len) = if layer == 0 {
            let m0 = self.params.max_links(0);
            (
                &mut self.layer0[i * m0..(i + 1) * m0],
                &mut self.layer0_len[i],
            )
        } else {
            assert!(
                layer <= self.levels[i] as usize,
                "layer above the element's level"
            );
            let m = self.params.m;
            let slot = self.upper_start[i] as usize / m + layer - 1;
            (
                &mut self.upper[slot * m..(slot + 1) * m],
                &mut self.upper_len[slot],
            )
        };
        assert!(neighbours.len() <= slots.len(), "too many links");
        slots[..neighbours.len()].copy_from_slice(neighbours);
        *len = neighbours.len() as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hnsw::insert::insert;
    use crate::hnsw::search::{descend, search_layer};
    use crate::hnsw::visited::EpochVisited;
    use crate::hnsw::Candidate;
    use rand::{Rng, SeedableRng};

    fn random_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect())
            .collect()
    }

    fn build(data: &[Vec<f32>], metric: Metric, params: Params) -> MemoryGraph {
        let mut g = MemoryGraph::new(data[0].len(), metric, params);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut visited = EpochVisited::default();
        for v in data {
            let mut v = v.clone();
            assert!(metric.prepare(&mut v));
            let level = params.random_level(&mut rng);
            let id = g.push(&v, level);
            insert(&mut g, id, &v, level, &params, &mut visited);
        }
        g
    }

    fn knn(g: &mut MemoryGraph, q: &[f32], k: usize, ef: usize) -> Vec<u32> {
        let mut visited = EpochVisited::default();
        let (ep, top) = g.entry().unwrap();
        let entry = Candidate {
            distance: g.distance(q, ep),
            id: ep,
        };
        let e = descend(g, q, entry, top, 0, &mut visited);
        search_layer(g, q, &[e], ef, 0, &mut visited)
            .iter()
            .take(k)
            .map(|c| c.id)
            .collect()
    }

    fn recall(metric: Metric) -> f64 {
        let data = random_vectors(3000, 24, 3);
        let queries = random_vectors(100, 24, 4);
        let params = Params {
            m: 16,
            ef_construction: 64,
        };
        let mut g = build(&data, metric, params);
        let mut hits = 0;
        for q in &queries {
            let mut q = q.clone();
            assert!(metric.prepare(&mut q));
            let mut exact: Vec<(f32, u32)> = (0..data.len() as u32)
                .map(|i| (g.distance(&q, i), i))
                .collect();
            exact.sort_by(|a, b| a.0.total_cmp(&b.0));
            let truth: Vec<u32> = exact.iter().take(10).map(|e| e.1).collect();
            let got = knn(&mut g, &q, 10, 64);
            hits += got.iter().filter(|id| truth.contains(id)).count();
        }
        hits as f64 / (10 * queries.len()) as f64
    }

    #[test]
    fn recall_against_brute_force() {
        for metric in [Metric::L2, Metric::Cosine, Metric::InnerProduct, Metric::L1] {
            let r = recall(metric);
            assert!(r >= 0.95, "{metric:?}: recall@10 {r}");
        }
    }

    #[test]
    fn exact_on_tiny_graphs_and_link_limits() {
        let params = Params {
            m: 2,
            ef_construction: 8,
        };
        let data: Vec<Vec<f32>> = (0..50).map(|i| vec![i as f32, 0.0]).collect();
        let mut g = build(&data, Metric::L2, params);
        assert_eq!(knn(&mut g, &[10.2, 0.0], 3, 8), vec![10, 11, 9]);
        for id in 0..50u32 {
            assert!(g.links(id, 0).len() <= 4);
            for layer in 1..=g.level(id) {
                assert!(g.links(id, layer).len() <= 2);
            }
        }
    }

    #[test]
    fn many_identical_vectors_keep_the_graph_searchable() {
        let mut data = vec![vec![1.0f32, 1.0, 1.0]; 300];
        data.extend((0..100).map(|i| vec![i as f32, -(i as f32), 0.5]));
        let mut g = build(
            &data,
            Metric::L2,
            Params {
                m: 4,
                ef_construction: 16,
            },
        );
        for i in 0..100u32 {
            let q = [i as f32, -(i as f32), 0.5];
            assert_eq!(
                knn(&mut g, &q, 1, 40),
                vec![300 + i],
                "distinct vector {i} found"
            );
        }
    }

    #[test]
    fn memory_is_counted_and_grows_in_small_steps() {
        let params = Params {
            m: 16,
            ef_construction: 32,
        };
        let mut g = MemoryGraph::new(384, Metric::L2, params);
        let v = vec![0.5f32; 384];
        for _ in 0..5000 {
            g.push(&v, 0);
        }
        let used = 5000 * MemoryGraph::element_bytes(384, 16, 0);
        assert!(g.bytes() >= used - 5000 * 4, "{} < {used}", g.bytes());
        assert!(g.bytes() <= used + used / 7, "{} > {used} + 1/7", g.bytes());
    }

    #[test]
    fn levels_follow_the_exponential_distribution() {
        let params = Params {
            m: 16,
            ef_construction: 64,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let n = 200_000;
        let above0 = (0..n)
            .filter(|_| params.random_level(&mut rng) >= 1)
            .count();
        // P(level ≥ 1) = exp(-1/mL) = 1/m
        let p = above0 as f64 / n as f64;
        assert!((p - 1.0 / 16.0).abs() < 0.005, "{p}");
    }

    /// A resumable search returns every (reachable) element once, batch after batch, each batch
    /// in order; its first batch is the plain search's, and its first batches hold
    /// the nearest elements.
    #[test]
    fn resumable_search_returns_every_element_once() {
        use crate::hnsw::search::{resume_layer, search_layer_resumable, Discarded};
        let data = random_vectors(2000, 8, 5);
        let params = Params {
            m: 8,
            ef_construction: 32,
        };
        let mut g = build(&data, Metric::L2, params);
        let q = random_vectors(1, 8, 6).remove(0);
        let (ep, top) = g.entry().unwrap();
        let entry = Candidate {
            distance: g.distance(&q, ep),
            id: ep,
        };
        let mut visited = EpochVisited::default();
        let e = descend(&mut g, &q, entry, top, 0, &mut visited);
        let mut discarded = Discarded::new();
        let first = search_layer_resumable(&mut g, &q, &[e], 20, 0, &mut visited, &mut discarded);
        let plain: Vec<u32> = knn(&mut g, &q, 20, 20);
        assert_eq!(first.iter().map(|c| c.id).collect::<Vec<_>>(), plain);
        let mut seen = vec![0u32; data.len()];
        let mut order = Vec::new();
        let mut batch = first;
        let mut batches = 0;
        while !batch.is_empty() {
            assert!(
                batch.windows(2).all(|w| w[0].distance <= w[1].distance),
                "a batch in order"
            );
            for c in &batch {
                seen[c.id as usize] += 1;
                order.push(c.id);
            }
            batches += 1;
            batch = resume_layer(&mut g, &q, 20, 0, &mut visited, &mut discarded);
        }
        assert!(batches > 50, "{batches} batches");
        assert!(seen.iter().all(|&n| n <= 1), "no element twice");
        let returned = seen.iter().filter(|&&n| n == 1).count();
        assert!(
            returned * 100 >= data.len() * 99,
            "{returned} of {} returned",
            data.len()
        );
        let mut exact: Vec<(f32, u32)> = (0..data.len() as u32)
            .map(|i| (g.distance(&q, i), i))
            .collect();
        exact.sort_by(|a, b| a.0.total_cmp(&b.0));
        let truth: Vec<u32> = exact.iter().take(100).map(|e| e.1).collect();
        let found = order[..200].iter().filter(|id| truth.contains(id)).count();
        assert!(
            found >= 95,
            "the first ten batches hold {found} of the nearest 100"
        );
    }
}
