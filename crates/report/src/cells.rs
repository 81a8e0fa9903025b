//! Residences aggregated to H3 cells at the gap layer's resolution and at coarser
//! ones, for the zoomed-out map: per cell the residences, their people, the share of
//! categories they meet, and per category the people (and residences) missing it.

use std::collections::HashMap;
use std::io::{self, Write};

use h3o::{CellIndex, LatLng, Resolution};
use serde_json::{Value, json};

use crate::enc::{Bits, Blob, Col, Kind};
use crate::{Grid, NONE};

/// Totals of one cell.
#[derive(Debug, Clone, Default)]
struct Row {
    residences: u32,
    population: f64,
    /// Sum over residences of population × categories met.
    pop_met: f64,
    /// Sum over residences of categories met.
    met: u64,
    /// Residences (and people) that miss at least one category.
    res_missing_any: u32,
    pop_missing_any: f64,
}

/// One category in one cell.
#[derive(Debug, Clone, Copy)]
struct Miss {
    residences: u32,
    population: f64,
    /// Shortest distance among the residences missing it (mm), at the finest level.
    nearest_mm: u32,
}

impl Default for Miss {
    fn default() -> Self {
        Miss {
            residences: 0,
            population: 0.0,
            nearest_mm: NONE,
        }
    }
}

/// Cells of one resolution.
#[derive(Debug, Clone, Default)]
struct Level {
    cells: Vec<CellIndex>,
    rows: Vec<Row>,
    /// `cells.len() × ncat`.
    miss: Vec<Miss>,
}

/// The accumulator: cells at the finest resolution, rolled up at the end.
pub(crate) struct Cells {
    res: Resolution,
    ncat: usize,
    index: HashMap<CellIndex, u32>,
    finest: Level,
}

/// A coarser resolution is kept while the finer one has more cells than this, so the
/// whole area fits in a few dozen cells at the coarsest.
const MIN_CELLS: usize = 20;

/// The worst gaps listed in the page's table.
const WORST: usize = 20;

impl Cells {
    pub(crate) fn new(hex_res: Resolution, ncat: usize) -> Cells {
        Cells {
            res: hex_res,
            ncat,
            index: HashMap::new(),
            finest: Level::default(),
        }
    }

    /// Adds one snapped residence: `nearest_mm` and `ok` per category.
    pub(crate) fn add(
        &mut self,
        lonlat: [f64; 2],
        population: f64,
        nearest_mm: &[u32],
        ok: &[bool],
    ) {
        let Ok(ll) = LatLng::new(lonlat[1], lonlat[0]) else {
            return;
        };
        let cell = ll.to_cell(self.res);
        let ncat = self.ncat;
        let lv = &mut self.finest;
        let r = *self.index.entry(cell).or_insert_with(|| {
            lv.cells.push(cell);
            lv.rows.push(Row::default());
            lv.miss.extend(std::iter::repeat_n(Miss::default(), ncat));
            (lv.cells.len() - 1) as u32
        }) as usize;
        let met = ok.iter().filter(|&&b| b).count();
        let row = &mut lv.rows[r];
        row.residences += 1;
        row.population += population;
        row.pop_met += population * met as f64;
        row.met += met as u64;
        if met < ncat {
            row.res_missing_any += 1;
            row.pop_missing_any += population;
        }
        for c in 0..ncat {
            if ok[c] {
                continue;
            }
            let m = &mut lv.miss[r * ncat + c];
            m.residences += 1;
            m.population += population;
            m.nearest_mm = m.nearest_mm.min(nearest_mm[c]);
        }
    }

    /// Gap cells (cell × category with someone missing it) at the finest resolution.
    pub(crate) fn gap_count(&self) -> usize {
        self.finest.miss.iter().filter(|m| m.residences > 0).count()
    }

    /// Writes every level's columns (`h3.<k>.*`, k = 0 the finest) and returns their
    /// descriptions for the data block plus the worst gaps table.
    pub(crate) fn write<W: Write + ?Sized>(
        self,
        grid: &Grid,
        blob: &mut Blob<'_, W>,
    ) -> io::Result<(Vec<Value>, Vec<Value>)> {
        let ncat = self.ncat;
        let mut level = sorted(self.finest, ncat);
        let worst = worst_gaps(&level, ncat, grid);
        let mut res = self.res;
        let mut out = Vec::new();
        let mut k = 0;
        loop {
            out.push(write_level(&level, res, ncat, grid, blob, k)?);
            let Some(coarser) = res.pred() else { break };
            if level.cells.len() <= MIN_CELLS {
                break;
            }
            level = roll_up(&level, coarser, ncat);
            res = coarser;
            k += 1;
        }
        Ok((out, worst))
    }
}

/// The level with its cells in index order.
fn sorted(lv: Level, ncat: usize) -> Level {
    let mut order: Vec<usize> = (0..lv.cells.len()).collect();
    order.sort_unstable_by_key(|&i| lv.cells[i]);
    Level {
        cells: order.iter().map(|&i| lv.cells[i]).collect(),
        rows: order.iter().map(|&i| lv.rows[i].clone()).collect(),
        miss: order
            .iter()
            .flat_map(|&i| lv.miss[i * ncat..(i + 1) * ncat].iter().copied())
            .collect(),
    }
}

/// Sums a level into its parents at `res`.
fn roll_up(lv: &Level, res: Resolution, ncat: usize) -> Level {
    let mut out = Level::default();
    let mut index: HashMap<CellIndex, usize> = HashMap::new();
    for (i, cell) in lv.cells.iter().enumerate() {
        let parent = cell.parent(res).expect("a coarser resolution");
        let p = *index.entry(parent).or_insert_with(|| {
            out.cells.push(parent);
            out.rows.push(Row::default());
            out.miss.extend(std::iter::repeat_n(Miss::default(), ncat));
            out.cells.len() - 1
        });
        let (a, b) = (&mut out.rows[p], &lv.rows[i]);
        a.residences += b.residences;
        a.population += b.population;
        a.pop_met += b.pop_met;
        a.met += b.met;
        a.res_missing_any += b.res_missing_any;
        a.pop_missing_any += b.pop_missing_any;
        for c in 0..ncat {
            let (a, b) = (&mut out.miss[p * ncat + c], lv.miss[i * ncat + c]);
            a.residences += b.residences;
            a.population += b.population;
            a.nearest_mm = a.nearest_mm.min(b.nearest_mm);
        }
    }
    sorted(out, ncat)
}

/// Tenths, as the page shows people (0.1).
fn tenths(x: f64) -> i64 {
    (x * 10.0).round() as i64
}

/// A cell's outline in the grid, as `[x, y]` pairs.
fn ring(cell: CellIndex, grid: &Grid) -> Vec<[i64; 2]> {
    cell.boundary()
        .iter()
        .map(|ll| grid.xy([ll.lng(), ll.lat()]))
        .collect()
}

fn write_level<W: Write + ?Sized>(
    lv: &Level,
    res: Resolution,
    ncat: usize,
    grid: &Grid,
    blob: &mut Blob<'_, W>,
    k: usize,
) -> io::Result<Value> {
    let [mut cx, mut cy, mut nv, mut vx, mut vy] =
        [Kind::Z, Kind::Z, Kind::U, Kind::S, Kind::S].map(Col::new);
    let [mut nres, mut pop, mut share, mut mres, mut mpop, mut gpop] = [Kind::U; 6].map(Col::new);
    let mut planes: Vec<Bits> = vec![Bits::default(); ncat];
    let mut diam_sum = 0.0;
    let mut max_pop = 0.0f64;
    for (i, &cell) in lv.cells.iter().enumerate() {
        let centre = LatLng::from(cell);
        let [x, y] = grid.xy([centre.lng(), centre.lat()]);
        cx.push(x);
        cy.push(y);
        let ring = ring(cell, grid);
        nv.push(ring.len() as i64);
        let mut far = 0.0f64;
        for [px, py] in &ring {
            vx.push(px - x);
            vy.push(py - y);
            far = far.max(grid.metres([px - x, py - y]));
        }
        diam_sum += 2.0 * far;
        let row = &lv.rows[i];
        nres.push(i64::from(row.residences));
        pop.push(tenths(row.population));
        max_pop = max_pop.max(row.population);
        // The population-weighted share of categories met, per mille (counted per
        // residence when nobody lives there by the estimate).
        let s = if row.population > 0.0 {
            row.pop_met / (row.population * ncat.max(1) as f64)
        } else {
            row.met as f64 / (f64::from(row.residences.max(1)) * ncat.max(1) as f64)
        };
        share.push((s * 1000.0).round() as i64);
        mres.push(i64::from(row.res_missing_any));
        mpop.push(tenths(row.pop_missing_any));
        for (c, plane) in planes.iter_mut().enumerate() {
            let m = &lv.miss[i * ncat + c];
            plane.push(m.residences > 0);
            if m.residences > 0 {
                gpop.push(tenths(m.population));
            }
        }
    }
    let n = lv.cells.len();
    let mut bytes = Vec::with_capacity(ncat * n.div_ceil(8));
    for p in &planes {
        bytes.extend_from_slice(p.bytes());
    }
    let p = format!("h3.{k}.");
    for (name, col) in [
        ("cx", cx),
        ("cy", cy),
        ("nv", nv),
        ("vx", vx),
        ("vy", vy),
        ("res", nres),
        ("pop", pop),
        ("share", share),
        ("miss_res", mres),
        ("miss_pop", mpop),
        ("gap_pop", gpop),
        ("gap_mask", Col::from_bytes(bytes)),
    ] {
        blob.put(&(p.clone() + name), col)?;
    }
    Ok(json!({
        "res": u8::from(res),
        "cells": n,
        "diam_m": if n > 0 { diam_sum / n as f64 } else { 0.0 },
        "max_pop": max_pop,
    }))
}

/// The cell × category pairs with the most people missing (ties: more residences,
/// then cell and category order).
fn worst_gaps(lv: &Level, ncat: usize, grid: &Grid) -> Vec<Value> {
    let mut all: Vec<(usize, usize)> = (0..lv.cells.len())
        .flat_map(|i| (0..ncat).map(move |c| (i, c)))
        .filter(|&(i, c)| lv.miss[i * ncat + c].residences > 0)
        .collect();
    let key = |&(i, c): &(usize, usize)| {
        let m = lv.miss[i * ncat + c];
        (
            std::cmp::Reverse(tenths(m.population)),
            std::cmp::Reverse(m.residences),
            i,
            c,
        )
    };
    all.sort_unstable_by_key(key);
    all.truncate(WORST);
    all.into_iter()
        .map(|(i, c)| {
            let m = lv.miss[i * ncat + c];
            json!({
                "cat": c,
                "cell": lv.cells[i].to_string(),
                "res": m.residences,
                "pop": tenths(m.population) as f64 / 10.0,
                "nearest": (m.nearest_mm != NONE).then(|| livingcircle_analysis::m1(m.nearest_mm)),
                "ring": ring(lv.cells[i], grid),
            })
        })
        .collect()
}
