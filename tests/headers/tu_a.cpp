// Instantiates run_mb and run_mbpo on a minimal environment; compiled twice (TU = f1, f2) into one
// program, with HEADER mbrl.hpp or mbrl_checkpoint.hpp, so that every inline definition is
// proven to link from two translation units.
#include HEADER
#include HEADER  // twice: the include guard
#ifndef TU
#define TU f1
#endif
struct Env { int obs_dim() const { return 2; } int act_dim() const { return 1; } int ep_len() const { return 5; }
 float act_low(int) const { return -1; } float act_high(int) const { return 1; }
 void reset(mbrl::Rng&, std::vector<float>& o) { o.assign(2, 0.f); }
 float step(const std::vector<float>& a, std::vector<float>& o, bool& d) { o.assign(2, a[0]); d = false; return -a[0]*a[0]; }
 static void reward(const float*, const float* a, int n, float* r, float*) { for (int i = 0; i < n; ++i) r[i] = -a[i]*a[i]; } };
int TU() { Env e; mbrl::MBConfig c; c.n_iter = 1; c.batch_size_initial = 50; c.num_agent_train_steps_per_iter = 1; c.mpc.num_sequences = 10; c.eval_batch_size = 5; mbrl::run_mb(e, c); mbrl::MBPOConfig p; p.mb = c; p.sac_n_iter = 1; p.sac.batch = 8; mbrl::run_mbpo(e, p); return 0; }
