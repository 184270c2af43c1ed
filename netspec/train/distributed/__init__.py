"""Distributed training on torch.distributed: the same run on several processes.

* ``env``      is this process a rank (torchrun / the elastic agent / SLURM)? (no torch)
* ``launch``   ``netspec train --nproc-per-node N``: PyTorch's elastic agent starts the workers
* ``worker``   one rank: join the group, train, leave; rank 0 writes, the others follow
* ``context``  the process group, the rank's device, sums and broadcasts
* ``sharding`` each rank's share of every global batch (one shared seeded order)
* ``wrap``     DDP with batch-share-weighted gradient averaging, or FSDP2 sharding; loading state
* ``sharded``  FSDP checkpoints in torch.distributed.checkpoint folders, readable by one process
"""
