using LlmAdapt.SampleHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

using var host = SampleHost.Build();
var client = host.Services.GetRequiredService<IChatClient>();
var response = await client.GetResponseAsync("Hello from the sample host").ConfigureAwait(false);
Console.WriteLine(response.Text);
