using TorchSharp;

Console.WriteLine(torch.ones(3).sum().item<float>());
