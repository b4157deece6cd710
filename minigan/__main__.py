"""`python -m minigan` lists the jobs."""
print("""minigan jobs (each has --help):
  python -m minigan.train      train a CondGAN, StyleGAN or StyleGAN2
  python -m minigan.data       load, inspect, extract and preview handwriting data""")
