# Reference values for groupeval.statistics.power from R's pwr package (and
# stats::power.prop.test).  Run from the repository root:
#     Rscript tests/reference/power_pwr.R
# Writes tests/reference/power_pwr.csv: one row per case with the inputs and
#   value_pwr   -- what pwr returns (its own uniroot, tol = .Machine$double.eps^0.25
#                  for a solved n / d / h),
#   value_tight -- for solved quantities, the root of pwr's own power function
#                  found with uniroot(tol = 1e-13) (equal to value_pwr for power).
# Tests compare computed power to 1e-6 against value_pwr, solved values to 1e-4
# against value_pwr and to 1e-7 against value_tight.
# Also writes tests/reference/power_pwr_cluster.csv: single-arm and
# cluster-randomised designs computed with pwr on the group means (see below).
suppressPackageStartupMessages(library(pwr))
set.seed(20240614)
stopifnot(packageVersion("pwr") >= "1.3.0")

rows <- list()
add <- function(fun, type, alternative, solve, n = NA, n1 = NA, n2 = NA, d = NA, h = NA,
                p1 = NA, p2 = NA, sig = 0.05, power = NA, value_pwr, value_tight) {
  rows[[length(rows) + 1]] <<- data.frame(
    fun = fun, type = type, alternative = alternative, solve = solve, n = n, n1 = n1, n2 = n2,
    d = d, h = h, p1 = p1, p2 = p2, sig_level = sig, power = power,
    value_pwr = value_pwr, value_tight = value_tight, stringsAsFactors = FALSE)
}
tight <- function(f, lo, hi) uniroot(f, c(lo, hi), tol = 1e-13, maxiter = 1000)$root
alts <- c("two.sided", "greater", "less")
sgn <- function(alt) if (alt == "less") -1 else 1
sigs <- c(0.05, 0.01, 0.10)

## pwr.t.test: one-sample, paired, two-sample -------------------------------------
for (type in c("one.sample", "paired", "two.sample")) {
  for (alt in alts) {
    for (i in 1:4) {
      n <- sample(5:120, 1); d <- sgn(alt) * round(runif(1, 0.15, 0.9), 3); sig <- sample(sigs, 1)
      p <- pwr.t.test(n = n, d = d, sig.level = sig, type = type, alternative = alt)$power
      add("pwr.t.test", type, alt, "power", n = n, d = d, sig = sig, value_pwr = p, value_tight = p)
      # solve n
      target <- round(runif(1, 0.6, 0.95), 3); d <- sgn(alt) * round(runif(1, 0.2, 0.9), 3)
      r <- pwr.t.test(d = d, sig.level = sig, power = target, type = type, alternative = alt)$n
      f <- function(x) pwr.t.test(n = x, d = d, sig.level = sig, type = type, alternative = alt)$power - target
      add("pwr.t.test", type, alt, "n", d = d, sig = sig, power = target, value_pwr = r,
          value_tight = tight(f, 2 + 1e-10, 1e6))
      # solve d
      n <- sample(8:150, 1)
      r <- pwr.t.test(n = n, sig.level = sig, power = target, type = type, alternative = alt)$d
      f <- function(x) pwr.t.test(n = n, d = x, sig.level = sig, type = type, alternative = alt)$power - target
      add("pwr.t.test", type, alt, "d", n = n, sig = sig, power = target, value_pwr = r,
          value_tight = if (alt == "less") tight(f, -10, -1e-9) else tight(f, 1e-9, 10))
    }
  }
}

## pwr.t2n.test ---------------------------------------------------------------------
for (alt in alts) {
  for (i in 1:4) {
    n1 <- sample(5:80, 1); n2 <- n1 * sample(c(0.5, 1.5, 2, 3), 1); sig <- sample(sigs, 1)
    d <- sgn(alt) * round(runif(1, 0.2, 0.9), 3)
    p <- pwr.t2n.test(n1 = n1, n2 = n2, d = d, sig.level = sig, alternative = alt)$power
    add("pwr.t2n.test", "", alt, "power", n1 = n1, n2 = n2, d = d, sig = sig, value_pwr = p, value_tight = p)
    target <- round(runif(1, 0.6, 0.95), 3)
    r <- pwr.t2n.test(n1 = n1, n2 = n2, sig.level = sig, power = target, alternative = alt)$d
    f <- function(x) pwr.t2n.test(n1 = n1, n2 = n2, d = x, sig.level = sig, alternative = alt)$power - target
    add("pwr.t2n.test", "", alt, "d", n1 = n1, n2 = n2, sig = sig, power = target, value_pwr = r,
        value_tight = if (alt == "less") tight(f, -10, -1e-9) else tight(f, 1e-9, 10))
  }
}

## pwr.2p.test, pwr.p.test, pwr.norm.test -------------------------------------------
for (fun in c("pwr.2p.test", "pwr.p.test", "pwr.norm.test")) {
  FUN <- get(fun)
  es <- if (fun == "pwr.norm.test") "d" else "h"
  call <- function(n = NULL, e = NULL, sig, power = NULL, alt) {
    a <- list(n = n, sig.level = sig, power = power, alternative = alt)
    a[[es]] <- e
    do.call(FUN, a)
  }
  for (alt in alts) {
    for (i in 1:4) {
      sig <- sample(sigs, 1)
      pa <- runif(1, 0.2, 0.6); pb <- pa + sgn(alt) * runif(1, 0.05, 0.25)
      e <- if (es == "h") ES.h(pb, pa) else sgn(alt) * round(runif(1, 0.15, 0.9), 3)
      n <- sample(10:300, 1)
      p <- call(n = n, e = e, sig = sig, alt = alt)$power
      add(fun, "", alt, "power", n = n, d = if (es == "d") e else NA, h = if (es == "h") e else NA,
          p1 = if (es == "h") pb else NA, p2 = if (es == "h") pa else NA, sig = sig, value_pwr = p, value_tight = p)
      target <- round(runif(1, 0.6, 0.95), 3)
      r <- call(e = e, sig = sig, power = target, alt = alt)$n
      f <- function(x) call(n = x, e = e, sig = sig, alt = alt)$power - target
      add(fun, "", alt, "n", d = if (es == "d") e else NA, h = if (es == "h") e else NA,
          sig = sig, power = target, value_pwr = r, value_tight = tight(f, 2 + 1e-10, 1e7))
      r <- call(n = n, sig = sig, power = target, alt = alt)[[es]]
      f <- function(x) call(n = n, e = x, sig = sig, alt = alt)$power - target
      add(fun, "", alt, es, n = n, sig = sig, power = target, value_pwr = r,
          value_tight = if (alt == "less") tight(f, -10, -1e-10) else tight(f, 1e-10, 10))
    }
  }
}

## pwr.2p2n.test (power only) --------------------------------------------------------
for (alt in alts) {
  for (i in 1:4) {
    sig <- sample(sigs, 1); n1 <- sample(20:200, 1); n2 <- round(n1 * runif(1, 0.5, 3))
    pa <- runif(1, 0.2, 0.6); pb <- pa + sgn(alt) * runif(1, 0.05, 0.25); h <- ES.h(pb, pa)
    p <- pwr.2p2n.test(h = h, n1 = n1, n2 = n2, sig.level = sig, alternative = alt)$power
    add("pwr.2p2n.test", "", alt, "power", n1 = n1, n2 = n2, h = h, p1 = pb, p2 = pa, sig = sig,
        value_pwr = p, value_tight = p)
  }
}

## stats::power.prop.test(strict = TRUE): two-sided two-proportion z test ------------------
for (i in 1:8) {
  sig <- sample(sigs, 1); p2 <- runif(1, 0.1, 0.7); p1 <- p2 + runif(1, 0.05, 0.25); n <- sample(20:400, 1)
  p <- power.prop.test(n = n, p1 = p1, p2 = p2, sig.level = sig, strict = TRUE)$power
  add("power.prop.test", "strict", "two.sided", "power", n = n, p1 = p1, p2 = p2, sig = sig,
      value_pwr = p, value_tight = p)
  target <- round(runif(1, 0.6, 0.95), 3)
  r <- power.prop.test(p1 = p1, p2 = p2, sig.level = sig, power = target, strict = TRUE)$n
  f <- function(x) power.prop.test(n = x, p1 = p1, p2 = p2, sig.level = sig, strict = TRUE)$power - target
  add("power.prop.test", "strict", "two.sided", "n", p1 = p1, p2 = p2, sig = sig, power = target,
      value_pwr = r, value_tight = tight(f, 2, 1e7))
  # solve the proportion above the reference p2: power.prop.test searches p2 in (p1, 1), so pass the
  # reference as its p1 (the test is symmetric in the two proportions)
  r <- power.prop.test(n = n, p1 = p2, sig.level = sig, power = target, strict = TRUE)$p2
  f <- function(x) power.prop.test(n = n, p1 = x, p2 = p2, sig.level = sig, strict = TRUE)$power - target
  ok <- f(1 - 1e-12) > 0
  add("power.prop.test", "strict", "two.sided", "p1", n = n, p2 = p2, sig = sig, power = target,
      value_pwr = if (ok) r else NA, value_tight = if (ok) tight(f, p2 + 1e-12, 1 - 1e-12) else NA)
}

## Group designs through pwr on the group means -----------------------------------
# With members nested in groups, a group mean of a unit-variance outcome has
# variance DE / m_a with m_a = m (1 - attrition) and DE = 1 + ((cv^2 + 1) m_a - 1) icc,
# so the t test on group means is pwr.t.test / pwr.t2n.test with n = groups and
# d_c = d / sqrt(DE / m_a) (exact for equal sizes; Eldridge's DE for unequal).
# Normal versions use pwr.norm.test, arcsine proportions pwr.p.test / pwr.2p2n.test.
crows <- list()
cadd <- function(...) crows[[length(crows) + 1]] <<- data.frame(..., stringsAsFactors = FALSE)
vc <- function(m, a, icc, cv) { ma <- m * (1 - a); (1 + ((cv^2 + 1) * ma - 1) * icc) / ma }
pw_group <- function(design, outcome, test, alt, k, r, e_c, sig) {
  # e_c: the standardised effect on the group-mean scale
  if (design == "single_arm") {
    if (test == "t") return(pwr.t.test(n = k, d = e_c, sig.level = sig, type = "one.sample", alternative = alt)$power)
    if (outcome == "proportion") return(pwr.p.test(h = e_c, n = k, sig.level = sig, alternative = alt)$power)
    return(pwr.norm.test(d = e_c, n = k, sig.level = sig, alternative = alt)$power)
  }
  if (test == "t") {
    if (r == 1) return(pwr.t.test(n = k, d = e_c, sig.level = sig, type = "two.sample", alternative = alt)$power)
    return(pwr.t2n.test(n1 = k, n2 = r * k, d = e_c, sig.level = sig, alternative = alt)$power)
  }
  if (outcome == "proportion") return(pwr.2p2n.test(h = e_c, n1 = k, n2 = r * k, sig.level = sig, alternative = alt)$power)
  pwr.norm.test(d = e_c / sqrt(1 / k + 1 / (r * k)), n = 1, sig.level = sig, alternative = alt)$power
}
for (design in c("single_arm", "cluster_randomised")) {
  for (outcome in c("continuous", "proportion")) {
    for (test in c("t", "normal")) {
      for (i in 1:6) {
        alt <- sample(c("two.sided", "two.sided", "greater"), 1)
        k <- sample(4:20, 1); m <- sample(3:40, 1); icc <- round(runif(1, 0, 0.2), 3)
        cv <- sample(c(0, 0, 0.4, 0.7), 1); a <- sample(c(0, 0, 0.2, 0.35), 1)
        r <- if (design == "single_arm") 1 else sample(c(1, 1, 1.5, 2), 1)
        sig <- sample(c(0.05, 0.05, 0.01), 1)
        if (outcome == "proportion") {
          p0 <- round(runif(1, 0.2, 0.6), 3); p1 <- round(p0 + runif(1, 0.05, 0.25), 3); e <- ES.h(p1, p0)
        } else {
          p0 <- NA; p1 <- NA; e <- round(runif(1, 0.15, 0.8), 3)
        }
        v <- vc(m, a, icc, cv)
        pw <- pw_group(design, outcome, test, alt, k, r, e / sqrt(v), sig)
        target <- round(runif(1, 0.6, 0.9), 3)
        # solve groups (continuous k), members (continuous m) and the effect
        fk <- function(x) pw_group(design, outcome, test, alt, x, r, e / sqrt(v), sig) - target
        k_lo <- if (design == "single_arm") 2 else max(2, 2 / r)  # pwr needs n >= 2 (n1, n2 >= 2)
        k_sol <- if (fk(1e6) > 0 && fk(k_lo) < 0) tight(fk, k_lo, 1e6) else NA
        fm <- function(x) pw_group(design, outcome, test, alt, k, r, e / sqrt(vc(x, a, icc, cv)), sig) - target
        m_sol <- if (fm(1e8) > 0 && fm(1e-6) < 0) tight(fm, 1e-6, 1e8) else NA
        fe <- function(x) pw_group(design, outcome, test, alt, k, r, x / sqrt(v), sig) - target
        e_sol <- if (fe(if (outcome == "proportion") pi else 10) > 0)
          tight(fe, 1e-10, if (outcome == "proportion") pi else 10) else NA
        cadd(design = design, outcome = outcome, test = test, alternative = alt, k = k, m = m, icc = icc,
             cv = cv, attrition = a, ratio = r, sig_level = sig, effect = e, p1 = p1, p0 = p0, power = pw,
             target = target, k_solved = k_sol, m_solved = m_sol, effect_solved = e_sol,
             design_effect = 1 + ((cv^2 + 1) * m * (1 - a) - 1) * icc)
      }
    }
  }
}
cl <- do.call(rbind, crows)
write.csv(cl, "tests/reference/power_pwr_cluster.csv", row.names = FALSE)
cat(sprintf("wrote %d group-design cases\n", nrow(cl)))

out <- do.call(rbind, rows)
out$case <- seq_len(nrow(out))
out <- out[, c("case", setdiff(names(out), "case"))]
write.csv(out, "tests/reference/power_pwr.csv", row.names = FALSE)
cat(sprintf("wrote %d cases (pwr %s, %s)\n", nrow(out), packageVersion("pwr"), R.version.string))
