"""Example networks (the seed's TensorLayer 2 CIFAR-10 net) and their weight loaders."""
