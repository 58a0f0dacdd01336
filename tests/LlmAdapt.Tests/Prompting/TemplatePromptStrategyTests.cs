using LlmAdapt.Prompting;
using LlmAdapt.Prompting.Templates;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Prompting;

public sealed class TemplatePromptStrategyTests
{
    private static readonly TokenCounter s_counter = TokenCounter.ForModel("gpt-4o");

    [Fact]
    public async Task Execute_SendsRenderedSystemAndUserMessages()
    {
        var template = PromptTemplate.Parse(user: "Translate into {{ language }}: {{ task }}", system: "You are a translator for {{ company }}.");
        var strategy = new TemplatePromptStrategy("translate", new TemplatePromptOptions { Template = template }, s_counter);
        var client = ScriptedChatClient.Sequence("Bonjour");

        var result = await strategy.ExecuteAsync(client, new PromptRequest
        {
            Task = "Hello",
            Inputs = new Dictionary<string, object?> { ["language"] = "French", ["company"] = "Contoso" },
        });

        Assert.Equal("Bonjour", result.Text);
        Assert.Equal(1, result.ModelCalls);
        var call = Assert.Single(client.Calls);
        Assert.Equal("[system] You are a translator for Contoso.\n[user] Translate into French: Hello", call.Transcript);
        Assert.Equal(["company", "language", "task"], template.Variables);
    }

    [Fact]
    public async Task Execute_MissingVariables_ThrowsNamingThemWithoutCallingTheModel()
    {
        var template = PromptTemplate.Parse("{{ greeting }}, {{ customer.name }}! {% for item in items %}{{ item }}{% endfor %} {{ task }}");
        var strategy = new TemplatePromptStrategy("t", new TemplatePromptOptions { Template = template }, s_counter);
        var client = ScriptedChatClient.Sequence();

        var ex = await Assert.ThrowsAsync<PromptTemplateException>(() => strategy.ExecuteAsync(client, new PromptRequest { Task = "x" }));

        Assert.Equal(["customer", "greeting", "items"], ex.MissingVariables);
        Assert.Contains("customer, greeting, items", ex.Message, StringComparison.Ordinal);
        Assert.Empty(client.Calls);
    }

    [Fact]
    public void Render_ValuesAreInsertedAsTextNeverAsTemplateCode()
    {
        var template = PromptTemplate.Parse("Review: {{ review }}");

        var messages = template.Render(new Dictionary<string, object?> { ["review"] = "{{ secret }} {% raw %}<b>&amp;</b>" });

        Assert.Equal("Review: {{ secret }} {% raw %}<b>&amp;</b>", messages[0].Text);
    }

    [Fact]
    public void Render_AssignedAndLoopVariablesAreNotRequired()
    {
        var template = PromptTemplate.Parse("{% assign sep = ', ' %}{% capture head %}Items{% endcapture %}{{ head }}: {% for x in items %}{{ x }}{% unless forloop.last %}{{ sep }}{% endunless %}{% endfor %}");

        Assert.Equal(["items"], template.Variables);
        Assert.Equal("Items: a, b", template.Render(new Dictionary<string, object?> { ["items"] = new[] { "a", "b" } })[0].Text);
    }

    [Fact]
    public void Parse_InvalidLiquid_ThrowsWithPosition()
    {
        var ex = Assert.Throws<PromptTemplateException>(() => PromptTemplate.Parse("Hello {% if x %}"));
        Assert.Contains("message 1 (user)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseSections_ReadsRolesInOrder()
    {
        var template = PromptTemplate.ParseSections("### system\nBe brief.\n### user\nQ: {{ task }}\n### assistant\nA: 4\n### USER\nAnd {{ other }}?\n");

        Assert.Equal([ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.User], template.Messages.Select(m => m.Role));
        Assert.Equal("Q: {{ task }}", template.Messages[1].Source);
        Assert.Equal(["other", "task"], template.Variables);
    }

    [Fact]
    public void ParseSections_TextBeforeFirstSection_ThrowsWithLine()
    {
        var ex = Assert.Throws<PromptTemplateException>(() => PromptTemplate.ParseSections("stray\n### user\nhi", "my.liquid"));
        Assert.StartsWith("my.liquid:1:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_OverBudget_RefusesByDefaultAndTrimsWhenAsked()
    {
        var template = PromptTemplate.Parse("{{ task }}", "System.");
        var longTask = string.Concat(Enumerable.Repeat("word ", 200));
        var refuse = new TemplatePromptStrategy("r", new TemplatePromptOptions { Template = template, MaxPromptTokens = 50 }, s_counter);
        var client = ScriptedChatClient.Sequence("ok");

        var ex = await Assert.ThrowsAsync<TokenBudgetExceededException>(() => refuse.ExecuteAsync(client, new PromptRequest { Task = longTask }));
        Assert.Equal(50, ex.BudgetTokens);
        Assert.Empty(client.Calls);

        var trim = new TemplatePromptStrategy("t", new TemplatePromptOptions { Template = template, MaxPromptTokens = 1000, Overflow = TokenBudgetOverflow.TruncateLastMessage }, s_counter);
        var result = await trim.ExecuteAsync(client, new PromptRequest { Task = longTask, MaxPromptTokens = 50 });

        Assert.Equal("ok", result.Text);
        Assert.True(s_counter.CountTokens(client.Calls[0].Messages) <= 50);
        Assert.StartsWith("word word", client.Calls[0].LastUser, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_InvalidOptions_ListsEveryProblem()
    {
        var ex = Assert.Throws<InvalidOptionsException>(
            () => new TemplatePromptStrategy("bad", new TemplatePromptOptions { MaxPromptTokens = 0 }, s_counter));
        Assert.Contains("Template", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxPromptTokens", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_NullsObjectsAndDictionaries()
    {
        var template = PromptTemplate.Parse("[{{ nothing }}{% if nothing %}set{% endif %}] {{ customer.Name }} ordered {{ order.items | size }} items for {{ order.total }}.");

        var text = template.Render(new Dictionary<string, object?>
        {
            ["nothing"] = null,
            ["customer"] = new Customer("Ada"),
            ["order"] = new Dictionary<string, object?> { ["items"] = new[] { "a", "b" }, ["total"] = 12.5 },
        })[0].Text;

        Assert.Equal("[] Ada ordered 2 items for 12.5.", text);
    }

    [Fact]
    public void Render_UnknownMemberOfASuppliedObject_IsATemplateError()
    {
        var template = PromptTemplate.Parse("{{ customer.Nickname }}");

        var ex = Assert.Throws<PromptTemplateException>(() => template.Render(new Dictionary<string, object?> { ["customer"] = new Customer("Ada") }));
        Assert.Contains("Nickname", ex.Message, StringComparison.Ordinal);
    }

    public sealed record Customer(string Name);
}
